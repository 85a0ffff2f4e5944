import { SquaredDifference } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const squaredDifferenceConfig = binaryKernel(SquaredDifference, BinaryOp.squaredDifference);
