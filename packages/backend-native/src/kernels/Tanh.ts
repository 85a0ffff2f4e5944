import { Tanh } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const tanhConfig = unaryKernel(Tanh, UnaryOp.tanh);
