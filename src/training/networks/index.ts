/** The U-GAT-IT networks (PyTorch variant), NHWC, official state_dict names and layouts. */
export { createGenerator, resolveGeneratorConfig } from './generator.ts';
export { createDiscriminator } from './discriminator.ts';
export { NetworkError, type NetworkErrorCode } from '../training.errors.ts';
export { assertVariant, SUPPORTED_VARIANTS } from './variant.ts';
export type * from './types.ts';
export { createRng, type Rng } from '../layers/rng.ts';
