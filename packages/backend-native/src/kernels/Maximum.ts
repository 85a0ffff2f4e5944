import { Maximum } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const maximumConfig = binaryKernel(Maximum, BinaryOp.maximum);
