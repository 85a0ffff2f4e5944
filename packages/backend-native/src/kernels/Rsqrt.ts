import { Rsqrt } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const rsqrtConfig = unaryKernel(Rsqrt, UnaryOp.rsqrt);
