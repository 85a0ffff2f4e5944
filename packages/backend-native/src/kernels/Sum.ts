import { Sum } from '@tensorflow/tfjs-core';

import { reduceKernel, ReduceOp } from './reduce_impl.js';

export const sumConfig = reduceKernel(Sum, ReduceOp.sum, 'axis');
