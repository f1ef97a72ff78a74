/** Adam state ⇄ the checkpoint's `optimizer.safetensors` naming (`<G|D>.<m|v>.<network>.<param>`, `__step__`). */
import type { AdamState } from '../optimizer.ts';
import type { NamedTensor } from '../tensors.ts';

/** Encode the generator (`G`) and discriminator (`D`) Adam states as named tensors. */
export function optimizerTensors(g: AdamState, d: AdamState): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [prefix, s] of [
    ['G', g],
    ['D', d],
  ] as const) {
    for (const [k, t] of s.m) out.set(`${prefix}.m.${k}`, t);
    for (const [k, t] of s.v) out.set(`${prefix}.v.${k}`, t);
  }
  out.set('__step__', { shape: [], data: Float32Array.of(g.step) });
  return out;
}

/**
 * Decode one Adam state (`G` or `D`) from {@link optimizerTensors}' naming.
 * @throws Error when the tensors lack `__step__`.
 */
export function adamStateFrom(tensors: Map<string, NamedTensor>, prefix: 'G' | 'D'): AdamState {
  const m = new Map<string, NamedTensor>();
  const v = new Map<string, NamedTensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith(`${prefix}.m.`)) m.set(k.slice(4), t);
    else if (k.startsWith(`${prefix}.v.`)) v.set(k.slice(4), t);
  }
  const step = tensors.get('__step__')?.data[0];
  if (step === undefined) throw new Error('optimizer state lacks __step__');
  return { step, m, v };
}
