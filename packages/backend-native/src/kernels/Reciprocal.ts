import { Reciprocal } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const reciprocalConfig = unaryKernel(Reciprocal, UnaryOp.reciprocal);
