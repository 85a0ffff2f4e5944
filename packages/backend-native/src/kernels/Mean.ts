import { Mean } from '@tensorflow/tfjs-core';

import { reduceKernel, ReduceOp } from './reduce_impl.js';

export const meanConfig = reduceKernel(Mean, ReduceOp.mean, 'axis');
