/**
 * Images made inside the tests (nothing large is committed): photos from ../shared/data/photos,
 * re-encoded, rotated, given alpha, or replaced by shapes with no face; and the bad-input corpus.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { sharedDir } from '../helpers/models.ts';

export const astronautPath = path.join(sharedDir, 'data/photos/astronaut.png');
export const cameraPath = path.join(sharedDir, 'data/photos/camera.png');
export const cascadePath = path.join(sharedDir, 'data/lbpcascade_animeface.xml');
export const fixturesDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../fixtures/images');

export const astronautPng = (): Buffer => readFileSync(astronautPath);

/** A smooth colour gradient with a few shapes: no face anywhere. */
export async function noFaceImage(width = 320, height = 240): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#3a7bd5"/><stop offset="1" stop-color="#f7d25b"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <rect x="30" y="40" width="80" height="50" fill="#c33"/>
    <polygon points="200,30 280,120 170,150" fill="#2a2"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A PNG whose header says `width`×`height` with almost no data behind it compressed (a decompression bomb). */
export function pngBomb(width = 20000, height = 20000): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  // Rows of zeros: filter byte + width bytes each, compressed they are tiny.
  const raw = Buffer.alloc((width + 1) * Math.min(height, 2000));
  const idat = deflateSync(raw, { level: 9 });
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

/** The bad-input corpus: name → bytes and the code each must get. */
export async function badInputs(): Promise<{ name: string; bytes: Buffer; code: string }[]> {
  const jpeg = await sharp(astronautPath).jpeg({ quality: 85 }).toBuffer();
  const png = astronautPng();
  const tiff = await sharp(astronautPath).tiff().toBuffer();
  return [
    { name: 'zero bytes', bytes: Buffer.alloc(0), code: 'EMPTY_FILE' },
    { name: 'SVG', bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><circle cx="50" cy="50" r="40"/></svg>'), code: 'UNSUPPORTED_FORMAT' },
    { name: 'PDF', bytes: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'), code: 'UNSUPPORTED_FORMAT' },
    { name: 'TIFF', bytes: tiff, code: 'UNSUPPORTED_FORMAT' },
    { name: 'HTML', bytes: Buffer.from('<!DOCTYPE html><html><body><img src="selfie.jpg"></body></html>'), code: 'UNSUPPORTED_FORMAT' },
    { name: 'text', bytes: Buffer.from('this is not a picture, just some words\n'), code: 'UNSUPPORTED_FORMAT' },
    { name: 'truncated JPEG', bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), code: 'CORRUPT_IMAGE' },
    { name: 'truncated PNG', bytes: png.subarray(0, Math.floor(png.length / 2)), code: 'CORRUPT_IMAGE' },
    { name: 'JPEG magic then garbage', bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 0x41)]), code: 'CORRUPT_IMAGE' },
    { name: 'PNG bomb 20000×20000', bytes: pngBomb(), code: 'TOO_MANY_PIXELS' },
  ];
}
