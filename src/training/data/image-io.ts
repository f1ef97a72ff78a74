/**
 * Every sharp call of the trainer lives here: decoding dataset images to raw RGB at a given size,
 * and encoding PNGs (sample grids, loss curves). Decoding is strict (`failOn: 'error'`) so that a
 * truncated file is reported instead of half-read, applies EXIF orientation, and caps pixel count.
 */
import sharp from 'sharp';

/** Raw interleaved 8-bit pixels. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Largest source image accepted (pixels), against decompression bombs. */
const MAX_INPUT_PIXELS = 100_000_000;

/**
 * Decode an image file and resize it (ignoring aspect ratio, like torchvision's `Resize((h, w))`)
 * with a bilinear filter, to 3-channel RGB.
 * @throws whatever sharp throws for an unreadable or corrupt file.
 */
export async function decodeResizedRgb(file: string, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
    .rotate()
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after decoding, got ${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
}

/** Encode raw 8-bit pixels (RGB or RGBA) as PNG. */
export async function encodePng(img: RawImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Rasterise an SVG document to PNG (text uses the system fonts, e.g. DejaVu Sans). */
export async function svgToPng(svg: string, background = '#ffffff'): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 96 }).flatten({ background }).png().toBuffer();
}

/** Rasterise an SVG document to raw RGB pixels at its own size. */
export async function svgToRgb(svg: string, background = '#ffffff'): Promise<RawImage> {
  const { data, info } = await sharp(Buffer.from(svg), { density: 96 })
    .flatten({ background })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
}

/** Read just the header; true when sharp recognises the file as an image it can decode. */
export async function probeImage(file: string): Promise<boolean> {
  try {
    const m = await sharp(file, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS }).metadata();
    return (m.width ?? 0) > 0 && (m.height ?? 0) > 0;
  } catch {
    return false;
  }
}

/** Draw an SVG (same size, transparent background) over raw pixels and encode the result as PNG. */
export async function pngWithSvgOverlay(img: RawImage, svg: string): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png({ compressionLevel: 6 })
    .toBuffer();
}
