import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, inspectImage, type IntakeLimits, MediaError, sniffFormat } from '../../src/media/media.ts';
import { astronautPath, astronautPng, badInputs, pngBomb } from './sample-images.ts';

const limits: IntakeLimits = { maxBytes: 10 * 1024 * 1024, maxPixels: 50_000_000, minSide: 48 };

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MediaError);
    const e = err as MediaError;
    return { code: e.code, message: e.message, details: e.details };
  }
  throw new Error('expected a MediaError, but it resolved');
}

describe('sniffFormat', () => {
  it('identifies JPEG, PNG, WebP and GIF by their first bytes', async () => {
    const png = astronautPng();
    expect(sniffFormat(png)).toBe('png');
    expect(sniffFormat(await sharp(png).jpeg().toBuffer())).toBe('jpeg');
    expect(sniffFormat(await sharp(png).webp().toBuffer())).toBe('webp');
    expect(sniffFormat(await sharp(png).gif().toBuffer())).toBe('gif');
  });

  it('returns null for TIFF, SVG, text and too-short input', async () => {
    expect(sniffFormat(await sharp(astronautPng()).tiff().toBuffer())).toBeNull();
    expect(sniffFormat(Buffer.from('<svg/>'))).toBeNull();
    expect(sniffFormat(Buffer.from('hello'))).toBeNull();
    expect(sniffFormat(Buffer.from([0xff, 0xd8]))).toBeNull();
  });
});

describe('decodeImage', () => {
  describe('bad inputs', () => {
    let corpus: Awaited<ReturnType<typeof badInputs>>;
    beforeAll(async () => {
      corpus = await badInputs();
    });

    it('refuses every kind of bad input with its typed code and a readable reason', async () => {
      for (const bad of corpus) {
        const err = await codeOf(decodeImage(bad.bytes, limits));
        expect({ name: bad.name, code: err.code }).toEqual({ name: bad.name, code: bad.code });
        expect(err.message.length).toBeGreaterThan(20);
        expect(err.message).not.toMatch(/vips|undefined|\[object/i);
      }
    });

    it('names what an unsupported file looks like', async () => {
      const byName = Object.fromEntries(corpus.map((c) => [c.name, c.bytes]));
      expect((await codeOf(decodeImage(byName.SVG, limits))).details.detected).toBe('SVG image');
      expect((await codeOf(decodeImage(byName.PDF, limits))).details.detected).toBe('PDF document');
      expect((await codeOf(decodeImage(byName.TIFF, limits))).details.detected).toBe('TIFF image');
      expect((await codeOf(decodeImage(byName.HTML, limits))).details.detected).toBe('HTML page');
      expect((await codeOf(decodeImage(byName.text, limits))).details.detected).toBe('text file');
    });

    it('refuses a decompression bomb from its header, before decoding, quickly and without a large allocation', async () => {
      const bomb = pngBomb(20000, 20000);
      expect(bomb.length).toBeLessThan(200_000);
      const rssBefore = process.memoryUsage().rss;
      const t = performance.now();
      const err = await codeOf(inspectImage(bomb, limits));
      expect(performance.now() - t).toBeLessThan(1000);
      expect(err.code).toBe('TOO_MANY_PIXELS');
      expect(err.details).toMatchObject({ width: 20000, height: 20000, pixels: 400_000_000, limit: 50_000_000 });
      // A decode would need 400 MB; the header check allocates next to nothing.
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    });

    it('refuses a file over the byte limit with the size and the limit', async () => {
      const err = await codeOf(decodeImage(astronautPng(), { ...limits, maxBytes: 1000 }));
      expect(err.code).toBe('FILE_TOO_LARGE');
      expect(err.details).toMatchObject({ bytes: astronautPng().length, limit: 1000 });
      expect(err.message).toMatch(/too large/);
    });

    it('refuses an image smaller than the minimum side', async () => {
      const tiny = await sharp(astronautPath).resize(40, 30).png().toBuffer();
      const err = await codeOf(decodeImage(tiny, limits));
      expect(err.code).toBe('IMAGE_TOO_SMALL');
      expect(err.details).toMatchObject({ width: 40, height: 30, minSide: 48 });
    });

    it('refuses a pixel count over a configured lower limit', async () => {
      const err = await codeOf(decodeImage(astronautPng(), { ...limits, maxPixels: 512 * 511 }));
      expect(err.code).toBe('TOO_MANY_PIXELS');
    });
  });

  describe('good inputs', () => {
    it('decodes a PNG to 8-bit RGB with its dimensions', async () => {
      const { image, header } = await decodeImage(astronautPng(), limits);
      expect(header.format).toBe('png');
      expect([image.width, image.height, image.channels, image.data.length]).toEqual([512, 512, 3, 512 * 512 * 3]);
    });

    it('decodes a PNG whatever the file was called (it only ever sees bytes) — a PNG renamed .jpg works', async () => {
      // The pipeline never receives a name: the format comes from the magic bytes alone.
      const { header } = await decodeImage(astronautPng(), limits);
      expect(header.format).toBe('png');
    });

    it('applies EXIF orientation 6 (rotate 90° clockwise) as phones write it', async () => {
      // A 200×100 picture, left half red, right half blue, stored with orientation 6.
      const wide = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } })
        .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#0000ff' } }, left: 100, top: 0 }])
        .jpeg({ quality: 95 })
        .withMetadata({ orientation: 6 })
        .toBuffer();
      const { image, header } = await decodeImage(wide, limits);
      expect(header.orientation).toBe(6);
      expect([image.width, image.height]).toEqual([100, 200]);
      // After a 90° clockwise turn the left (red) half is on top.
      const top = image.data.subarray(3 * (10 * 100 + 50), 3 * (10 * 100 + 50) + 3);
      const bottom = image.data.subarray(3 * (190 * 100 + 50), 3 * (190 * 100 + 50) + 3);
      expect(top[0]).toBeGreaterThan(200);
      expect(top[2]).toBeLessThan(60);
      expect(bottom[2]).toBeGreaterThan(200);
      expect(bottom[0]).toBeLessThan(60);
    });

    it('flattens alpha onto white', async () => {
      const rgba = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
        .composite([{ input: { create: { width: 32, height: 64, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 1 } } }, left: 0, top: 0 }])
        .png()
        .toBuffer();
      const { image, header } = await decodeImage(rgba, limits);
      expect(header.hasAlpha).toBe(true);
      expect(image.channels).toBe(3);
      const px = (x: number, y: number): number[] => [...image.data.subarray(3 * (y * 64 + x), 3 * (y * 64 + x) + 3)];
      expect(px(48, 10)).toEqual([255, 255, 255]); // transparent → white
      expect(px(10, 10)).toEqual([0, 128, 0]); // opaque kept
    });

    it('decodes the first frame of an animated GIF', async () => {
      const frames = await sharp({ create: { width: 64, height: 128, channels: 3, background: '#ff0000' } })
        .composite([{ input: { create: { width: 64, height: 64, channels: 3, background: '#0000ff' } }, left: 0, top: 64 }])
        .raw()
        .toBuffer();
      const gif = await sharp(frames, { raw: { width: 64, height: 128, channels: 3, pageHeight: 64 } })
        .gif()
        .toBuffer();
      const { image, header } = await decodeImage(gif, limits);
      expect(header.format).toBe('gif');
      expect(header.pages).toBe(2);
      expect([image.width, image.height]).toEqual([64, 64]);
      expect(image.data[0]).toBeGreaterThan(200); // first frame is red
      expect(image.data[2]).toBeLessThan(60);
    });

    it('converts a CMYK JPEG to sRGB with the same colours', async () => {
      const cmyk = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 40, b: 40 } } })
        .toColourspace('cmyk')
        .jpeg({ quality: 95 })
        .toBuffer();
      expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
      const { image } = await decodeImage(cmyk, limits);
      expect(image.channels).toBe(3);
      const [r, g, b] = image.data.subarray(3 * (32 * 64 + 32));
      expect(r).toBeGreaterThan(150);
      expect(g).toBeLessThan(90);
      expect(b).toBeLessThan(90);
    });

    it('decodes WebP and converts greyscale to 3-channel sRGB', async () => {
      const webp = await sharp(astronautPath).webp().toBuffer();
      expect((await decodeImage(webp, limits)).image.channels).toBe(3);
      const grey = await sharp(astronautPath).greyscale().png().toBuffer();
      const { image } = await decodeImage(grey, limits);
      expect(image.channels).toBe(3);
      expect(image.data[0]).toBe(image.data[1]);
    });
  });
});
