import { Abs } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const absConfig = unaryKernel(Abs, UnaryOp.abs);
