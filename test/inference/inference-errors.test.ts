import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { deserializeError, InferenceError, serializeError, toInferenceError } from '../../src/inference/inference.errors.ts';
import { MediaError, precheckBytes } from '../../src/media/upload-precheck.ts';
import { OnnxError } from '../../src/onnx/onnx.errors.ts';

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('toInferenceError', () => {
  it('passes a media refusal on as the InferenceError with the same code, message and details', () => {
    const media = thrownBy(() => precheckBytes(new Uint8Array(2048).fill(0xff), { maxBytes: 1024 })) as MediaError;
    expect(media).toBeInstanceOf(MediaError);
    const sut = toInferenceError(media) as InferenceError;
    expect(sut).toBeInstanceOf(InferenceError);
    expect([sut.name, sut.code, sut.message, sut.details, sut.cause]).toEqual([
      'InferenceError[FILE_TOO_LARGE]',
      'FILE_TOO_LARGE',
      'The file is too large (2.0 KB); the limit is 1.0 KB.',
      { bytes: 2048, limit: 1024 },
      media,
    ]);
  });

  it('reads a run on a disposed model as ABORTED', () => {
    const sut = toInferenceError(new OnnxError('MODEL_DISPOSED', 'disposed', { stage: 'run' })) as InferenceError;
    expect([sut.name, sut.message, sut.details]).toEqual(['InferenceError[ABORTED]', 'The inference worker is shutting down.', { stage: 'run' }]);
  });

  it('returns every other error as it is', () => {
    const errors = [new InferenceError('NO_FACE', 'x'), new ConfigError('CONFIG_INVALID', 'y'), new TypeError('z'), 'a string'];
    for (const err of errors) expect(toInferenceError(err)).toBe(err);
  });
});

describe('serializeError / deserializeError', () => {
  it('carries a media refusal across the thread boundary as an InferenceError', () => {
    const media = thrownBy(() => precheckBytes(Buffer.from('%PDF-1.4\n'), { maxBytes: 1024 }));
    const sut = deserializeError(serializeError(media));
    expect(sut).toBeInstanceOf(InferenceError);
    expect((sut as InferenceError).code).toBe('UNSUPPORTED_FORMAT');
    expect((sut as InferenceError).details).toMatchObject({ detected: 'PDF document', accepted: ['jpeg', 'png', 'webp', 'gif'] });
  });

  it.each([
    ['TOO_LARGE', 'FILE_TOO_LARGE'],
    ['IMAGE_TOO_BIG', 'TOO_MANY_PIXELS'],
    ['UNSUPPORTED_TYPE', 'UNSUPPORTED_FORMAT'],
  ])('reads the legacy code %s (from a worker of the previous release) as %s', (legacy, current) => {
    const sut = deserializeError({ code: legacy as never, message: 'm', details: { bytes: 1 } });
    expect(sut).toBeInstanceOf(InferenceError);
    expect([(sut as InferenceError).code, sut.message, (sut as InferenceError).details]).toEqual([current, 'm', { bytes: 1 }]);
  });

  it('turns a code no one knows into a plain Error with its message', () => {
    const sut = deserializeError({ code: 'NOT_A_CODE' as never, message: 'm', details: {} });
    expect(sut).not.toBeInstanceOf(InferenceError);
    expect(sut.message).toBe('m');
  });
});
