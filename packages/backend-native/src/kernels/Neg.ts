import { Neg } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const negConfig = unaryKernel(Neg, UnaryOp.neg);
