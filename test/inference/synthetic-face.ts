/**
 * A synthetic picture whose face position is known: astronaut.png (public domain, ../shared/data/photos)
 * scaled into a larger grey-noise canvas at a chosen offset, optionally turned. Made in the test; nothing committed.
 */
import sharp from 'sharp';
import { astronautPath } from './sample-images.ts';

/** Where the astronaut goes in the synthetic picture, and at what size. */
export const PLACE = { left: 380, top: 150, side: 320, width: 800, height: 560 };

/** A larger face for the alignment test (the eye key points are precise enough from ≈130 px faces). */
export const BIG = { left: 50, top: 30, side: 700, width: 800, height: 760 };

/** The synthetic picture: grey noise with astronaut.png scaled to PLACE.side at (PLACE.left, PLACE.top), optionally turned. */
export async function syntheticPicture(turnDegrees = 0, place = PLACE): Promise<Buffer> {
  const PLACE = place;
  let face = sharp(astronautPath).resize(PLACE.side, PLACE.side);
  if (turnDegrees) {
    const turned = await face.rotate(turnDegrees, { background: '#808080' }).png().toBuffer();
    // rotate() grows the canvas; cut the middle back to PLACE.side
    const m = await sharp(turned).metadata();
    face = sharp(turned).extract({ left: Math.floor((m.width! - PLACE.side) / 2), top: Math.floor((m.height! - PLACE.side) / 2), width: PLACE.side, height: PLACE.side });
  }
  const faceBytes = await face.png().toBuffer();
  return sharp({ create: { width: PLACE.width, height: PLACE.height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .composite([{ input: faceBytes, left: PLACE.left, top: PLACE.top }])
    .png()
    .toBuffer();
}

