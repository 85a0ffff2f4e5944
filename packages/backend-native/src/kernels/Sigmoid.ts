import { Sigmoid } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const sigmoidConfig = unaryKernel(Sigmoid, UnaryOp.sigmoid);
