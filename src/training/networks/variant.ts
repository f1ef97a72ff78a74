import { NetworkError } from '../training.errors.ts';
import type { Variant } from './types.ts';

/** The variants this build can construct. */
export const SUPPORTED_VARIANTS: readonly Variant[] = ['pytorch'];

/**
 * The single place that decides the variant. A `tensorflow` variant (official TF checkpoints) would
 * be accepted here and branched on by the layer choices in the generator and discriminator.
 * @throws {NetworkError} UNSUPPORTED_VARIANT
 */
export function assertVariant(variant: string | undefined): Variant {
  const v = variant ?? 'pytorch';
  if (!(SUPPORTED_VARIANTS as readonly string[]).includes(v)) {
    throw new NetworkError('UNSUPPORTED_VARIANT', `variant must be one of ${SUPPORTED_VARIANTS.join(', ')}; received "${v}"`, { variant: v });
  }
  return v as Variant;
}
