import { Max } from '@tensorflow/tfjs-core';

import { reduceKernel, ReduceOp } from './reduce_impl.js';

export const maxConfig = reduceKernel(Max, ReduceOp.max, 'reductionIndices');
