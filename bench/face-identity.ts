/**
 * `npm run bench:face-identity`: how face-api's identity similarity (cosine of descriptors) separates
 * the same face, its mirror image and other people, on the photos available offline (the face-api
 * package's six demo photographs, MIT, and ../shared/data/photos). Prints JSON. These figures set the
 * audit's "identity lost" threshold (src/analysis/audit-flags.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { FaceAnalyzer, identitySimilarity, mirrorImage } from '../src/analysis/face-analysis.ts';
import { decodeUnchecked } from '../src/media/media.ts';
import { sharedDir } from '../test/helpers/models.ts';

const demo = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
const files = [path.join(sharedDir, 'data/photos/astronaut.png'), path.join(sharedDir, 'data/photos/camera.png'), ...[1, 2, 3, 4, 5, 6].map((i) => path.join(demo, `sample${i}.jpg`))];

const analyzer = await FaceAnalyzer.create();
const descriptors: Float32Array[] = [];
const mirror: number[] = [];
for (const f of files) {
  const img = await decodeUnchecked(readFileSync(f));
  const faces = await analyzer.analyze(img);
  descriptors.push(...faces.map((x) => x.descriptor));
  if (faces.length) {
    const [m] = await analyzer.analyze(mirrorImage(img));
    if (m) mirror.push(identitySimilarity(faces[0].descriptor, m.descriptor));
  }
}
const others: number[] = [];
for (let i = 0; i < descriptors.length; i++) for (let j = i + 1; j < descriptors.length; j++) others.push(identitySimilarity(descriptors[i], descriptors[j]));
others.sort((a, b) => a - b);
const r3 = (x: number) => Math.round(x * 1000) / 1000;
process.stdout.write(
  `${JSON.stringify(
    {
      photos: files.length,
      faces: descriptors.length,
      mirror: { min: r3(Math.min(...mirror)), max: r3(Math.max(...mirror)), n: mirror.length },
      differentPeople: { pairs: others.length, min: r3(others[0]), median: r3(others[others.length >> 1]), p95: r3(others[Math.floor(others.length * 0.95)]), max: r3(others.at(-1)!) },
    },
    null,
    2,
  )}\n`,
);
await analyzer.dispose();
