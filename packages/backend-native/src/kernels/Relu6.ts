import { Relu6 } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const relu6Config = unaryKernel(Relu6, UnaryOp.relu6);
