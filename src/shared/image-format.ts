/**
 * Identifying uploads from their bytes alone (no decoder, no sharp): the accepted formats by magic
 * bytes, and a description of what anything else looks like (for the refusal's message).
 * Pure: no I/O, no imports.
 */

/** The formats accepted, identified by their first bytes. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';

/** Every accepted format, in the order messages name them. */
export const ACCEPTED_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp', 'gif'];

/** Identify an accepted format from the magic bytes; null when it is none of them. */
export function sniffFormat(buf: Uint8Array): ImageFormat | null {
  const b = buf;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a)
    return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  return null;
}

/** A best guess at what an unsupported upload is, for the error message. */
export function describeUnsupported(buf: Uint8Array): string {
  const head = ascii(buf, 0, Math.min(buf.length, 512)).replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (head.startsWith('%pdf')) return 'PDF document';
  if ((buf[0] === 0x49 && buf[1] === 0x49 && buf[2] === 0x2a) || (buf[0] === 0x4d && buf[1] === 0x4d && buf[3] === 0x2a)) return 'TIFF image';
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG image';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'HTML page';
  if (buf.length >= 12 && ascii(buf, 4, 8) === 'ftyp') return 'HEIF/AVIF or MP4 file';
  if (buf[0] === 0x42 && buf[1] === 0x4d) return 'BMP image';
  if (buf[0] === 0x50 && buf[1] === 0x4b) return 'ZIP archive';
  if (head.startsWith('<?xml')) return 'XML document';
  let printable = 0;
  const n = Math.min(buf.length, 512);
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0xc0) printable++;
  }
  if (n > 0 && printable / n > 0.95) return 'text file';
  return 'unknown binary file';
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < Math.min(end, b.length); i++) s += String.fromCharCode(b[i]);
  return s;
}
