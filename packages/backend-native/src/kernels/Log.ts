import { Log } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const logConfig = unaryKernel(Log, UnaryOp.log);
