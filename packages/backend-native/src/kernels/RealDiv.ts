import { RealDiv } from '@tensorflow/tfjs-core';

import { binaryKernel, BinaryOp } from './binary_impl.js';

export const realDivConfig = binaryKernel(RealDiv, BinaryOp.div);
