import { Add } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const addConfig = binaryKernel(Add, BinaryOp.add);
