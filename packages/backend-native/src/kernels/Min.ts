import { Min } from '@tensorflow/tfjs-core';

import { reduceKernel, ReduceOp } from './reduce_impl.js';

export const minConfig = reduceKernel(Min, ReduceOp.min, 'axis');
