import { type DependencyContainer, TOKENS } from '@lth/core';
import { convNet } from './conv.js';
import { lenet } from './lenet.js';
import { resnet } from './resnet.js';
import { vgg } from './vgg.js';

export { lenet, LenetOptions, lenetDefaults, lenetSpec } from './lenet.js';
export { convNet, ConvOptions, convDefaults, convSpec, DROPOUT_STATE } from './conv.js';
export { resnet, ResnetOptions, resnetDefaults, resnetSpec } from './resnet.js';
export { vgg, VggOptions, vggDefaults, vggSpec, VGG_PLANS } from './vgg.js';
export { LayerTable, batchNorm, BN_EPSILON, BN_MOMENTUM } from './layers.js';
export { initKernel, initWeight, fans, weightSeed, type KernelInit } from './init.js';
export { VERSION } from './version.js';

/** Every model factory this package provides. */
export const models = [lenet, convNet, resnet, vgg] as const;

/** Registers this package's models; called by the plugin loader, never on import. */
export function register(container: DependencyContainer): void {
  for (const plugin of models) container.register(TOKENS.model, { useValue: plugin });
}
