import { Square } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const squareConfig = unaryKernel(Square, UnaryOp.square);
