/**
 * float32 → IEEE 754 binary16 for fp16 ONNX initializers: round to nearest with ties to even (what numpy's
 * astype(float16) and ONNX Runtime's Cast do); values beyond the half range become ±Infinity, NaN stays NaN.
 * The scalar conversions are the safetensors module's (one implementation for the whole project).
 */
import { floatToHalf, halfToFloat } from '../safetensors.ts';

/** The binary16 bit pattern nearest to `value`. */
export const toHalfBits = floatToHalf;

/** The float value of a binary16 bit pattern. */
export const fromHalfBits = halfToFloat;

/** Convert a whole array to binary16 bit patterns. */
export function float32ToHalf(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]);
  return out;
}
