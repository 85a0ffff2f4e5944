import { Minimum } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const minimumConfig = binaryKernel(Minimum, BinaryOp.minimum);
