import { Sqrt } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const sqrtConfig = unaryKernel(Sqrt, UnaryOp.sqrt);
