import { Sub } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const subConfig = binaryKernel(Sub, BinaryOp.sub);
