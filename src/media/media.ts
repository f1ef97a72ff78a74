/**
 * The one owner of sharp, for every wing: identifying and decoding uploads (with the limits that keep
 * a decompression bomb from being decoded, EXIF orientation applied), cropping, resizing, grids and
 * overlays, encoding PNG/JPEG, decoding training images, and rasterising SVG (charts, sample grids).
 * Decoded images are 8-bit sRGB, row-major; decoders return RGB (3 channels). A lint rule refuses
 * `sharp` anywhere else under src/.
 */
import sharp, { type Metadata } from 'sharp';
import type { ImageFormat } from '../shared/image-format.ts';
import { MediaError, precheckBytes } from './upload-precheck.ts';

export { describeUnsupported, type ImageFormat, sniffFormat } from '../shared/image-format.ts';
export { MediaError, precheckBytes } from './upload-precheck.ts';

/** 8-bit pixels, row-major (HWC): RGB (3 channels) from every decoder; RGBA (4) where an overlay needs alpha. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}


export interface IntakeLimits {
  /** Largest upload in bytes. */
  maxBytes: number;
  /** Largest decoded image in pixels (width × height), checked from the header before decoding. */
  maxPixels: number;
  /** Smallest usable side in pixels. */
  minSide: number;
}

sharp.cache(false);

/** What the header says, before any pixel is decoded. */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
  hasAlpha: boolean;
  space: string;
  pages: number;
}

/**
 * Check an upload without decoding its pixels: size, magic bytes, then the header's dimensions.
 * @throws {MediaError} EMPTY_FILE, FILE_TOO_LARGE, UNSUPPORTED_FORMAT, CORRUPT_IMAGE, TOO_MANY_PIXELS, IMAGE_TOO_SMALL
 */
export async function inspectImage(buf: Uint8Array, limits: IntakeLimits): Promise<ImageHeader> {
  const format = precheckBytes(buf, limits);
  let meta: Metadata;
  try {
    meta = await sharp(buf, { failOn: 'error', limitInputPixels: false }).metadata();
  } catch (err) {
    throw corrupt(format, buf.length, err);
  }
  if (!meta.width || !meta.height || (meta.format !== format && !(format === 'jpeg' && meta.format === 'jpeg'))) {
    throw new MediaError('CORRUPT_IMAGE', `The ${format.toUpperCase()} file could not be read (its header is damaged).`, {
      format,
      headerFormat: meta.format,
      bytes: buf.length,
    });
  }
  // GIF/WebP report the height of all frames stacked only with `pages`; we decode the first frame.
  const height = meta.pageHeight ?? meta.height;
  const width = meta.width;
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new MediaError(
      'TOO_MANY_PIXELS',
      `The image is too big to process (${width}×${height} = ${(pixels / 1e6).toFixed(1)} megapixels); the limit is ${(limits.maxPixels / 1e6).toFixed(1)} megapixels.`,
      { width, height, pixels, limit: limits.maxPixels },
    );
  }
  if (Math.min(width, height) < limits.minSide) {
    throw new MediaError(
      'IMAGE_TOO_SMALL',
      `The image is too small (${width}×${height}); each side must be at least ${limits.minSide} pixels.`,
      { width, height, minSide: limits.minSide },
    );
  }
  return {
    format,
    width,
    height,
    orientation: meta.orientation ?? 1,
    hasAlpha: meta.hasAlpha ?? false,
    space: meta.space ?? 'unknown',
    pages: meta.pages ?? 1,
  };
}

/**
 * Inspect, then decode the first frame: EXIF orientation applied, alpha flattened onto white, sRGB, RGB.
 * @throws {MediaError} as {@link inspectImage}, and CORRUPT_IMAGE for truncated or damaged data.
 */
export async function decodeImage(buf: Uint8Array, limits: IntakeLimits): Promise<{ image: RawImage; header: ImageHeader }> {
  const header = await inspectImage(buf, limits);
  try {
    const { data, info } = await sharp(buf, {
      failOn: 'error',
      limitInputPixels: limits.maxPixels,
      pages: 1,
      page: 0,
      autoOrient: true,
    })
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after decode, got ${info.channels}`);
    return { image: { data, width: info.width, height: info.height, channels: 3 }, header };
  } catch (err) {
    throw corrupt(header.format, buf.length, err);
  }
}

function corrupt(format: string, bytes: number, err: unknown): MediaError {
  const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new MediaError(
    'CORRUPT_IMAGE',
    `The ${format.toUpperCase()} file is damaged or incomplete and could not be decoded. Please send the original photo again.`,
    { format, bytes, reason },
    { cause: err },
  );
}

/** An integer pixel rectangle. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Cut `rect` out of `img` (must lie inside) and resize it to `size`×`size` (Lanczos when shrinking). */
export async function cropResize(img: RawImage, rect: Rect, size: number): Promise<RawImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract(rect)
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/**
 * Fit `img` into a `size`×`size` square anchored top-left, padding the rest with black; returns the
 * scale (square pixels per image pixel), so a point maps back as `p / scale`.
 */
export async function letterbox(img: RawImage, size: number): Promise<{ image: RawImage; scale: number }> {
  const scale = size / Math.max(img.width, img.height);
  const w = Math.max(1, Math.round(img.width * scale));
  const h = Math.max(1, Math.round(img.height * scale));
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(w, h, { fit: 'fill', kernel: 'cubic' })
    .extend({ right: size - w, bottom: size - h, background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { image: { data, width: info.width, height: info.height, channels: 3 }, scale };
}

/** Resize an RGB image to `size`×`size` (Lanczos 3). */
export async function resizeSquare(img: RawImage, size: number): Promise<RawImage> {
  if (img.width === size && img.height === size) return img;
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Resize a one-channel 8-bit map to `size`×`size` bilinearly (as OpenCV's default resize). */
export async function resizeGray(data: Uint8Array, width: number, height: number, size: number): Promise<Buffer> {
  return sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
    .resize(size, size, { fit: 'fill', kernel: 'linear' })
    .extractChannel(0)
    .raw()
    .toBuffer();
}

/** Grey version (luma, 1 channel) of an RGB image, for the cascade detector. */
export async function toGray(img: RawImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).greyscale().extractChannel(0).raw().toBuffer();
}

/** Lay tiles of equal height side by side, left to right. */
export async function hconcat(tiles: RawImage[]): Promise<RawImage> {
  return grid(tiles, tiles.length);
}

/** Lay tiles (all the same size) in a grid with `columns` columns, white where the last row is short. */
export async function grid(tiles: RawImage[], columns: number): Promise<RawImage> {
  if (tiles.length === 0) throw new Error('grid: no tiles');
  const tw = tiles[0].width;
  const th = tiles[0].height;
  const rows = Math.ceil(tiles.length / columns);
  const cols = Math.min(columns, tiles.length);
  const { data, info } = await sharp({ create: { width: tw * cols, height: th * rows, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(
      tiles.map((t, i) => ({
        input: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        raw: { width: t.width, height: t.height, channels: 3 as const },
        left: (i % cols) * tw,
        top: Math.floor(i / cols) * th,
      })),
    )
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`grid: expected 3 channels, got ${info.channels}`);
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Encode raw 8-bit pixels (RGB or RGBA) as PNG. */
export async function encodePng(img: RawImage): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 | 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Test and tool helper: decode any image sharp reads to RGB without the intake checks. */
export async function decodeUnchecked(buf: Uint8Array): Promise<RawImage> {
  const { data, info } = await sharp(buf).autoOrient().flatten({ background: '#ffffff' }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

/** Test and tool helper: encode RGB pixels as JPEG. */
export async function encodeJpeg(img: RawImage, quality = 90): Promise<Buffer> {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** Bench/test helper: resize to an exact width × height. */
export async function resizeTo(img: RawImage, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

// ---- training data, charts and sample grids ----

/** Largest source image accepted (pixels), against decompression bombs. */
const MAX_TRAINING_INPUT_PIXELS = 100_000_000;

/**
 * Decode an image file and resize it (ignoring aspect ratio, like torchvision's `Resize((h, w))`)
 * with a bilinear filter, to 3-channel RGB.
 * @throws whatever sharp throws for an unreadable or corrupt file.
 */
export async function decodeResizedRgb(file: string, width: number, height: number): Promise<RawImage> {
  const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: MAX_TRAINING_INPUT_PIXELS })
    .rotate()
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after decoding, got ${info.channels}`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: 3 };
}

/** Rasterise an SVG document to PNG (text uses the system fonts, e.g. DejaVu Sans); `background: null` keeps transparency. */
export async function svgToPng(svg: string, background: string | null = '#ffffff', density = 96): Promise<Buffer> {
  const img = sharp(Buffer.from(svg), { density });
  return (background === null ? img : img.flatten({ background })).png().toBuffer();
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
    const m = await sharp(file, { failOn: 'error', limitInputPixels: MAX_TRAINING_INPUT_PIXELS }).metadata();
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
