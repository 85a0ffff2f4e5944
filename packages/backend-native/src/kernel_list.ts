// The native kernels, one per file; registered (with every cpu kernel) by registerNativeBackend().
import type { KernelConfig } from '@tensorflow/tfjs-core';

import { absConfig } from './kernels/Abs.js';
import { addConfig } from './kernels/Add.js';
import { batchMatMulConfig } from './kernels/BatchMatMul.js';
import { conv2DConfig } from './kernels/Conv2D.js';
import { conv2DBackpropFilterConfig } from './kernels/Conv2DBackpropFilter.js';
import { conv2DBackpropInputConfig } from './kernels/Conv2DBackpropInput.js';
import { expConfig } from './kernels/Exp.js';
import { fusedConv2DConfig } from './kernels/FusedConv2D.js';
import { logConfig } from './kernels/Log.js';
import { lthAdamUpdateConfig } from './kernels/LthAdamUpdate.js';
import { lthSgdUpdateConfig } from './kernels/LthSgdUpdate.js';
import { maxConfig } from './kernels/Max.js';
import { maxPoolConfig } from './kernels/MaxPool.js';
import { maxPoolGradConfig } from './kernels/MaxPoolGrad.js';
import { maximumConfig } from './kernels/Maximum.js';
import { meanConfig } from './kernels/Mean.js';
import { minConfig } from './kernels/Min.js';
import { minimumConfig } from './kernels/Minimum.js';
import { multiplyConfig } from './kernels/Multiply.js';
import { negConfig } from './kernels/Neg.js';
import { realDivConfig } from './kernels/RealDiv.js';
import { reciprocalConfig } from './kernels/Reciprocal.js';
import { reluConfig } from './kernels/Relu.js';
import { relu6Config } from './kernels/Relu6.js';
import { rsqrtConfig } from './kernels/Rsqrt.js';
import { sigmoidConfig } from './kernels/Sigmoid.js';
import { sqrtConfig } from './kernels/Sqrt.js';
import { squareConfig } from './kernels/Square.js';
import { squaredDifferenceConfig } from './kernels/SquaredDifference.js';
import { stepConfig } from './kernels/Step.js';
import { subConfig } from './kernels/Sub.js';
import { sumConfig } from './kernels/Sum.js';
import { tanhConfig } from './kernels/Tanh.js';
import { fusedMatMulConfig } from './kernels/_FusedMatMul.js';

export const nativeKernelConfigs: KernelConfig[] = [
  absConfig,
  addConfig,
  batchMatMulConfig,
  conv2DConfig,
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  expConfig,
  fusedConv2DConfig,
  logConfig,
  lthAdamUpdateConfig,
  lthSgdUpdateConfig,
  maxConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  maximumConfig,
  meanConfig,
  minConfig,
  minimumConfig,
  multiplyConfig,
  negConfig,
  realDivConfig,
  reciprocalConfig,
  reluConfig,
  relu6Config,
  rsqrtConfig,
  sigmoidConfig,
  sqrtConfig,
  squareConfig,
  squaredDifferenceConfig,
  stepConfig,
  subConfig,
  sumConfig,
  tanhConfig,
  fusedMatMulConfig,
];
