import { Exp } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const expConfig = unaryKernel(Exp, UnaryOp.exp);
