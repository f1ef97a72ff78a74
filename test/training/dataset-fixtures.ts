/**
 * Raw inputs for the dataset tests, made inside the tests (nothing large is committed):
 * - photos: the two public-domain portraits of ../shared/data/photos (astronaut: a woman, camera: a
 *   man), their mirror images, a group picture holding several of them, and the things a build must
 *   skip — a re-encoded copy (near-duplicate), a tiny copy (face below the minimum), a broken file;
 *   laid out like AFAD-Lite (`<age>/111` men, `<age>/112` women) so `--from afad` can tag them.
 * - webtoon pages: variants of the hand-drawn anime face (test/fixtures/images/anime-face.svg: hair and
 *   eye colours, glasses) pasted three to a page, which the anime-face cascade finds.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { astronautPath, cameraPath, fixturesDir } from '../inference/sample-images.ts';

/** One drawn webtoon face: hair colour, iris colour, glasses, head tilt (degrees), panel background. */
export interface AnimeVariant {
  hair: string;
  iris: string;
  glasses: boolean;
  tilt?: number;
  background?: 'white' | 'stripes' | 'sky';
}

const BACKGROUNDS = {
  white: '',
  stripes: '<defs><pattern id="p" width="24" height="24" patternUnits="userSpaceOnUse"><rect width="12" height="24" fill="#d8e8f0"/></pattern></defs><rect width="320" height="320" fill="url(#p)"/>',
  sky: '<rect width="320" height="160" fill="#bfe0ff"/>',
};

const animeSvg = readFileSync(path.join(fixturesDir, 'anime-face.svg'), 'utf8');

/** The fixture face with another hair / iris colour, optionally with glasses drawn over the eyes. */
export function animeFaceSvg(v: AnimeVariant): string {
  let s = animeSvg.replaceAll('#3b2a26', v.hair).replaceAll('#5b3f8c', v.iris);
  if (v.glasses) {
    s = s.replace(
      '<!-- nose and mouth -->',
      '<g fill="none" stroke="#202020" stroke-width="4"><rect x="95" y="145" width="60" height="55" rx="10"/><rect x="165" y="145" width="60" height="55" rx="10"/><path d="M155 165 L165 165"/></g><!-- nose and mouth -->',
    );
  }
  const bg = BACKGROUNDS[v.background ?? 'white'];
  return s
    .replace('<rect width="320" height="320" fill="#ffffff"/>', `<rect width="320" height="320" fill="#ffffff"/>${bg}<g transform="rotate(${v.tilt ?? 0} 160 160)">`)
    .replace('</svg>', '</g></svg>');
}

/** Faces of 160 px side by side on a white page (the spacing the cascade needs to find all three). */
export async function webtoonPage(faces: AnimeVariant[], opts: { tile?: number; gap?: number } = {}): Promise<Buffer> {
  const tile = opts.tile ?? 160;
  const gap = opts.gap ?? 80;
  const tiles = await Promise.all(faces.map((f) => sharp(Buffer.from(animeFaceSvg(f))).resize(tile, tile).png().toBuffer()));
  return sharp({ create: { width: faces.length * tile + (faces.length + 1) * gap, height: tile + 2 * gap, channels: 3, background: '#ffffff' } })
    .composite(tiles.map((input, i) => ({ input, left: gap + i * (tile + gap), top: gap })))
    .png()
    .toBuffer();
}

const HAIR = '#3b2a26';
const IRIS = '#5b3f8c';

/**
 * The drawn cast, seven faces the cascade finds and whose crops are at least 26 bits (of 256) apart:
 * tilt, glasses and panel background make them differ. Gender is what the test's tags CSV says
 * (the drawing does not show it): one man, six women — the seed's skew in miniature.
 */
export const CAST: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g', AnimeVariant & { gender: 'male' | 'female' }> = {
  a: { hair: HAIR, iris: IRIS, glasses: false, tilt: -10, gender: 'female' },
  b: { hair: HAIR, iris: IRIS, glasses: true, tilt: -10, gender: 'female' },
  c: { hair: HAIR, iris: IRIS, glasses: false, tilt: 0, gender: 'female' },
  d: { hair: HAIR, iris: IRIS, glasses: true, tilt: 0, gender: 'female' },
  e: { hair: HAIR, iris: IRIS, glasses: false, tilt: 10, gender: 'male' },
  f: { hair: HAIR, iris: IRIS, glasses: true, tilt: 0, background: 'stripes', gender: 'female' },
  g: { hair: HAIR, iris: IRIS, glasses: true, tilt: 0, background: 'sky', gender: 'female' },
};

/** Which cast member is on which page, left to right. */
export const PAGES: Record<string, (keyof typeof CAST)[]> = { 'page01.png': ['a', 'e', 'f'], 'page02.png': ['b'], 'page03.png': ['c'], 'page04.png': ['d'], 'page05.png': ['g'] };

/**
 * Write the raw photo folder (AFAD-like). Returns the folder.
 * Faces the build should keep: astronaut, astronaut mirrored, camera, camera mirrored, and the faces
 * BlazeFace finds in group.png; skip: the JPEG copy (near-duplicate), tiny.png (too small), broken.jpg.
 */
export async function writeRawPhotos(root: string): Promise<string> {
  const women = path.join(root, '24', '112');
  const men = path.join(root, '41', '111');
  await mkdir(women, { recursive: true });
  await mkdir(men, { recursive: true });
  await sharp(astronautPath).png().toFile(path.join(women, 'astronaut.png'));
  await sharp(astronautPath).flop().png().toFile(path.join(women, 'astronaut-mirror.png'));
  await sharp(astronautPath).resize(400).jpeg({ quality: 70 }).toFile(path.join(women, 'astronaut-copy.jpg'));
  await sharp(cameraPath).png().toFile(path.join(men, 'camera.png'));
  await sharp(cameraPath).flop().png().toFile(path.join(men, 'camera-mirror.png'));
  const a = await sharp(astronautPath).resize(300).png().toBuffer();
  const c = await sharp(cameraPath).resize(300).png().toBuffer();
  const am = await sharp(astronautPath).flop().resize(300).png().toBuffer();
  await sharp({ create: { width: 960, height: 340, channels: 3, background: '#dddddd' } })
    .composite([
      { input: a, left: 10, top: 20 },
      { input: c, left: 330, top: 20 },
      { input: am, left: 650, top: 20 },
    ])
    .png()
    .toFile(path.join(root, 'group.png'));
  await sharp(astronautPath).resize(60).png().toFile(path.join(root, 'tiny.png'));
  await writeFile(path.join(root, 'broken.jpg'), Buffer.from('this is not a JPEG'));
  await writeFile(path.join(root, 'notes.txt'), 'not an image: ignored\n');
  return root;
}

/**
 * Write the webtoon pages of {@link PAGES} (seven faces), plus `repost.png` (page02 saved again:
 * a near-duplicate) and `blank.png` (no face). Returns the folder.
 */
export async function writeWebtoonPages(root: string): Promise<string> {
  await mkdir(root, { recursive: true });
  for (const [name, cast] of Object.entries(PAGES)) await writeFile(path.join(root, name), await webtoonPage(cast.map((k) => CAST[k])));
  // the same pixels saved again (other bytes, so another file to the build): a near-duplicate at distance 0
  await sharp(await webtoonPage(PAGES['page02.png'].map((k) => CAST[k])))
    .png({ compressionLevel: 1 })
    .toFile(path.join(root, 'repost.png'));
  await sharp({ create: { width: 400, height: 300, channels: 3, background: '#f0f0f0' } }).png().toFile(path.join(root, 'blank.png'));
  return root;
}
