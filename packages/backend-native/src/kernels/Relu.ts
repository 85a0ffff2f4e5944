import { Relu } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const reluConfig = unaryKernel(Relu, UnaryOp.relu);
