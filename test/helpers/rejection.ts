/** Shared assertion helper for the inference suites. */
import { expect } from 'vitest';
import { InferenceError } from '../../src/inference/inference.errors.ts';

/** Await `p`, expect it to reject with an InferenceError, and return that error for further checks. */
export async function rejectionOf(p: Promise<unknown>): Promise<InferenceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(InferenceError);
    return err as InferenceError;
  }
  throw new Error('expected a rejection');
}
