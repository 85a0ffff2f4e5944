import { Step } from '@tensorflow/tfjs-core';

import { unaryKernel, UnaryOp } from './unary_impl.js';

export const stepConfig = unaryKernel(Step, UnaryOp.step, 'alpha');
