import { Multiply } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const multiplyConfig = binaryKernel(Multiply, BinaryOp.mul);
