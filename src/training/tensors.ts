/**
 * Shared tensor contracts of src/training. A network's weights are named and laid out exactly as the
 * official UGATIT-pytorch `state_dict` (e.g. `DownBlock.1.weight`, `model.0.weight_orig`), in PyTorch
 * layout (conv OIHW, Linear `[out,in]`, ρ/γ/β `[1,C,1,1]`), float32, row-major.
 */

/** One tensor: row-major float32 data in PyTorch layout. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** The official parameter names of ONE network mapped to their tensors. */
export type StateDict = Map<string, NamedTensor>;

/** The six networks of U-GAT-IT, named as in the official trainer's checkpoint. */
export type NetworkName = 'genA2B' | 'genB2A' | 'disGA' | 'disGB' | 'disLA' | 'disLB';

/** The six networks' weights; a network may be absent (e.g. generators only). */
export type UgatitState = Partial<Record<NetworkName, StateDict>>;

/** All network names in the official checkpoint order. */
export const NETWORK_NAMES: readonly NetworkName[] = ['genA2B', 'genB2A', 'disGA', 'disGB', 'disLA', 'disLB'];

/** Number of elements of a tensor of the given shape (1 for a scalar `[]`). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

