/**
 * Tagging a manifest: the hand-made CSV (csv-parse: quoting), AFAD-Lite folders, CelebA's attribute
 * file (a few lines in its exact format) and the mapping onto the shared vocabulary.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageTag, parseCelebaAttributes, scanAfad, tagFromAfad, tagFromCeleba, tagFromRows } from '../../src/training/data/dataset-tag.ts';
import { DatasetError } from '../../src/training/training.errors.ts';
import { LabelsCsvError, parseLabelsCsv } from '../../src/training/data/labels-csv.ts';
import type { ManifestEntry } from '../../src/training/data/manifest.ts';
import { mergeTags, parseTag } from '../../src/training/data/tags.ts';

const entry = (file: string, source: string, tags: string[] = []): ManifestEntry => ({
  file,
  source,
  sourceSha256: 'a'.repeat(64),
  box: { x: 1, y: 2, width: 30, height: 30 },
  crop: { left: 0, top: 0, width: 45, height: 45 },
  detector: 'blazeface',
  score: 0.9,
  hash: '0'.repeat(64),
  size: 64,
  tags,
});

function expectDatasetError(act: () => unknown, code: string, text: string | RegExp): void {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(DatasetError);
    expect((err as DatasetError).code).toBe(code);
    expect((err as Error).message).toMatch(text);
    return;
  }
  throw new Error('expected a DatasetError');
}

describe('tags', () => {
  it('parses presence and valued tags of the shared vocabulary and refuses others', () => {
    expect(parseTag('glasses')).toEqual({ attribute: 'glasses' });
    expect(parseTag(' gender = Male ')).toEqual({ attribute: 'gender', value: 'male' });
    expect(parseTag('wings')).toEqual({ kind: 'unknown-attribute', attribute: 'wings' });
    expect(parseTag('gender=two words')).toEqual({ kind: 'bad-value', value: 'two words' });
  });

  it('merges: a new value of an attribute replaces the old one, presence tags add up', () => {
    expect(mergeTags(['gender=female', 'glasses'], ['gender=male', 'hands', 'glasses'])).toEqual(['gender=male', 'glasses', 'hands']);
  });
});

describe('parseLabelsCsv', () => {
  it('reads quoted fields, several tag columns, ; or quoted , separators', () => {
    const sut = parseLabelsCsv('file,tags\n"trainB/img3.png","glasses"\nx.png,gender=male;glasses,hands\n"a, b.png","expression=smiling, hair=blond"\n', 'tags.csv');
    expect(sut).toEqual([
      { line: 2, path: 'trainB/img3.png', tags: ['glasses'] },
      { line: 3, path: 'x.png', tags: ['gender=male', 'glasses', 'hands'] },
      { line: 4, path: 'a, b.png', tags: ['expression=smiling', 'hair=blond'] },
    ]);
  });

  it('names the line of an unknown attribute', () => {
    const err = (() => {
      try {
        parseLabelsCsv('path,attributes\na.png,glasses\nb.png,"wings"\n', 'tags.csv');
      } catch (e) {
        return e as LabelsCsvError;
      }
    })();
    expect(err).toBeInstanceOf(LabelsCsvError);
    expect(err?.kind).toBe('unknown-attribute');
    expect(err?.message).toMatch(/^tags\.csv line 3: unknown attribute "wings"; expected one of gender, glasses/);
  });
});

describe('tagFromRows', () => {
  const entries = [entry('p1-f0.png', 'pages/p1.png'), entry('p1-f1.png', 'pages/p1.png'), entry('p2-f0.png', 'pages/p2.png', ['gender=female'])];

  it('matches a crop by file, by dataset path or by its source image (all faces of it), and reports unknown rows', () => {
    const rows = parseLabelsCsv('path,attributes\ntrainB/p1-f0.png,glasses\npages/p1.png,gender=male\np2-f0.png,gender=male\nmissing.png,hands\n', 'tags.csv');
    const sut = tagFromRows(entries, rows, 'trainB');
    expect(sut.entries.map((e) => e.tags)).toEqual([['gender=male', 'glasses'], ['gender=male'], ['gender=male']]);
    expect(sut).toMatchObject({ matched: 3, changed: 3, unknown: ['line 5: missing.png'], added: { glasses: 1, 'gender=male': 3 } });
  });

  it('refuses a CSV that names no image of the manifest', () => {
    expectDatasetError(() => tagFromRows(entries, parseLabelsCsv('path,attributes\nother.png,glasses\n', 't.csv'), 'trainB'), 'NO_MATCH', /no row of the CSV names an image of the manifest/);
  });
});

describe('AFAD-Lite folders', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'webtoon-afad-'));
    for (const [dir, file] of [
      ['18/111', '1001.jpg'],
      ['18/112', '1002.jpg'],
      ['35/111', '1003.jpg'],
      ['63/112', '1004.jpg'],
      ['notes', 'x.jpg'],
    ]) {
      await mkdir(path.join(root, dir), { recursive: true });
      await writeFile(path.join(root, dir, file), 'jpg');
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads gender from 111/112 and bins the age folder', async () => {
    const sut = await scanAfad(root);
    expect([...sut.entries()].sort()).toEqual([
      ['18/111/1001.jpg', ['gender=male', 'age=young']],
      ['18/112/1002.jpg', ['gender=female', 'age=young']],
      ['35/111/1003.jpg', ['gender=male', 'age=adult']],
      ['63/112/1004.jpg', ['gender=female', 'age=older']],
    ]);
    expect([ageTag(29), ageTag(30), ageTag(59), ageTag(60)]).toEqual(['age=young', 'age=adult', 'age=adult', 'age=older']);
  });

  it('tags the entries whose source path ends in <age>/<gender>/<file>', async () => {
    const entries = [entry('a.png', 'AFAD-Lite/18/111/1001.jpg'), entry('b.png', '63/112/1004.jpg'), entry('c.png', 'elsewhere/9.jpg')];
    const sut = tagFromAfad(entries, await scanAfad(root));
    expect(sut.entries.map((e) => e.tags)).toEqual([['age=young', 'gender=male'], ['age=older', 'gender=female'], []]);
    expect(sut.matched).toBe(2);
  });

  it('refuses a missing root, a tree without the layout, and a manifest from elsewhere', async () => {
    await expect(scanAfad(path.join(root, 'nope'))).rejects.toThrow(/--from afad: .*nope does not exist/);
    await expect(scanAfad(path.join(root, 'notes'))).rejects.toThrow(/holds no <age>\/111\/ \(male\) or <age>\/112\/ \(female\) images/);
    expectDatasetError(() => tagFromAfad([entry('c.png', 'elsewhere/9.jpg')], new Map([['18/111/1001.jpg', ['gender=male']]])), 'NO_MATCH', /no manifest entry comes from the AFAD tree/);
  });
});

describe('CelebA list_attr_celeba.txt', () => {
  // CelebA's 40 attributes in the file's order, and three rows in its layout (values padded to width 2).
  const NAMES =
    '5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young'.split(' ');
  const row = (image: string, on: string[]) => `${image} ${NAMES.map((n) => (on.includes(n) ? ' 1' : '-1')).join(' ')}`;
  const text = [
    '3',
    `${NAMES.join(' ')} `,
    row('000001.jpg', ['Blond_Hair', 'Smiling', 'Young', 'No_Beard', 'Wearing_Earrings', 'Brown_Hair']),
    row('000002.jpg', ['Male', 'Eyeglasses', 'Gray_Hair', 'Mustache']),
    row('000003.jpg', ['Male', 'No_Beard', 'Pale_Skin', 'Young', 'Wearing_Hat']),
    '',
  ].join('\n');

  it('maps the attributes onto the shared vocabulary', () => {
    const sut = parseCelebaAttributes(text, 'list_attr_celeba.txt');
    expect(sut.get('000001.jpg')).toEqual(['accessories', 'age=young', 'expression=smiling', 'gender=female', 'hair=blond']);
    expect(sut.get('000002.jpg')).toEqual(['age=adult', 'facial_hair', 'gender=male', 'glasses', 'hair=gray']);
    expect(sut.get('000003.jpg')).toEqual(['accessories', 'age=young', 'gender=male', 'skin_tone=pale']);
  });

  it('tags entries by their source file name', () => {
    const sut = tagFromCeleba([entry('x.png', 'img_align_celeba/000002.jpg'), entry('y.png', 'other.jpg')], parseCelebaAttributes(text, 'a.txt'));
    expect(sut.matched).toBe(1);
    expect(sut.entries[0].tags).toContain('glasses');
  });

  it('refuses a file without the attribute header, a short row and a value other than 1/-1, naming the line', () => {
    expectDatasetError(() => parseCelebaAttributes('3\nimage Smiling\n', 'a.txt'), 'TAGS_INVALID', /a\.txt line 2: expected CelebA's attribute names/);
    expectDatasetError(() => parseCelebaAttributes(`3\n${NAMES.join(' ')}\n000001.jpg 1 -1\n`, 'a.txt'), 'TAGS_INVALID', /a\.txt line 3: expected an image name and 40 values, found 2 values/);
    expectDatasetError(() => parseCelebaAttributes(text.replace('000002.jpg -1', '000002.jpg 0'), 'a.txt'), 'TAGS_INVALID', /a\.txt line 4: 5_o_Clock_Shadow is "0"; CelebA values are 1 or -1/);
  });
});
