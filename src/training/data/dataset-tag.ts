/**
 * `webtoon dataset tag`: merge tags into a manifest from three sources.
 * - A hand-made CSV (`path,attributes`; csv-parse, so quoted fields work). A row names a crop by its
 *   file (`x.png`), by its dataset path (`trainB/x.png`) or by its raw source image (then every face
 *   cut from that image gets the tags).
 * - AFAD-Lite's folders: `<root>/<age>/111/*.jpg` are men, `<root>/<age>/112/*.jpg` women. Matched on the
 *   end of each entry's source path (`<age>/<111|112>/<file>`).
 * - CelebA's `list_attr_celeba.txt`: a count line, a line of 40 attribute names, then
 *   `<image> 1 -1 ...` per image. Matched on the source image's file name. Mapping: {@link CELEBA_MAPPING}.
 * Unknown attributes refuse the whole file (nothing written); rows naming no manifest entry are
 * reported, not dropped silently. Pure functions over entries; the CLI reads and writes the files.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from '../training.errors.ts';
import { IMAGE_EXTENSIONS } from './dataset.ts';
import type { LabelRow } from './labels-csv.ts';
import type { ManifestEntry } from './manifest.ts';
import { mergeTags } from './tags.ts';

/** What a tagging pass did. */
export interface TagResult {
  entries: ManifestEntry[];
  /** Entries that received at least one tag they did not have. */
  changed: number;
  /** Entries matched by the source (whether or not their tags changed). */
  matched: number;
  /** Rows / files of the source that named no manifest entry. */
  unknown: string[];
  /** Tag counts added, e.g. { 'gender=male': 12, glasses: 3 }. */
  added: Record<string, number>;
}

const normalise = (p: string): string => p.trim().replace(/\\/g, '/').replace(/^(\.\/)+/, '');

function apply(entries: readonly ManifestEntry[], tagsFor: (e: ManifestEntry) => string[] | undefined): Omit<TagResult, 'unknown'> {
  let changed = 0;
  let matched = 0;
  const added: Record<string, number> = {};
  const out = entries.map((e) => {
    const tags = tagsFor(e);
    if (tags === undefined) return e;
    matched++;
    const merged = mergeTags(e.tags, tags);
    const fresh = merged.filter((t) => !e.tags.includes(t));
    if (fresh.length === 0) return e;
    changed++;
    for (const t of fresh) added[t] = (added[t] ?? 0) + 1;
    return { ...e, tags: merged };
  });
  return { entries: out, changed, matched, added };
}

/**
 * Tags from parsed CSV rows. `split` is the manifest's folder name (`trainB`) so `trainB/x.png` matches.
 * @throws {DatasetError} NO_MATCH when no row names an entry of the manifest.
 */
export function tagFromRows(entries: readonly ManifestEntry[], rows: readonly LabelRow[], split?: string): TagResult {
  const byKey = new Map<string, ManifestEntry[]>();
  const add = (k: string, e: ManifestEntry) => byKey.set(k, [...(byKey.get(k) ?? []), e]);
  for (const e of entries) {
    add(e.file, e);
    if (split) add(`${split}/${e.file}`, e);
    if (e.source !== e.file) add(e.source, e);
  }
  const tagsOf = new Map<ManifestEntry, string[]>();
  const unknown: string[] = [];
  for (const row of rows) {
    const hits = byKey.get(normalise(row.path));
    if (!hits) {
      unknown.push(`line ${row.line}: ${row.path}`);
      continue;
    }
    for (const e of hits) tagsOf.set(e, [...(tagsOf.get(e) ?? []), ...row.tags]);
  }
  if (tagsOf.size === 0) {
    throw new DatasetError('NO_MATCH', `no row of the CSV names an image of the manifest (first: ${rows[0]?.path ?? 'none'}); name crops by file (x.png), dataset path (${split ?? 'trainB'}/x.png) or source image`, {
      rows: rows.length,
    });
  }
  return { ...apply(entries, (e) => tagsOf.get(e)), unknown };
}

/** AFAD's gender folder codes. */
export const AFAD_GENDER: Record<string, string> = { '111': 'gender=male', '112': 'gender=female' };

/** Age in years → the `age` value used across tag sources: young (< 30), adult (30–59), older (60+). */
export function ageTag(years: number): string {
  return years < 30 ? 'age=young' : years < 60 ? 'age=adult' : 'age=older';
}

/**
 * Tags of every image in an AFAD(-Lite) tree, keyed by `<age>/<111|112>/<file>`.
 * @throws {DatasetError} INPUT_MISSING for a missing root, INPUT_EMPTY when no `<age>/<111|112>/` image is found.
 */
export async function scanAfad(root: string): Promise<Map<string, string[]>> {
  try {
    if (!(await stat(root)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new DatasetError('INPUT_MISSING', `--from afad: ${root} does not exist or is not a folder`, { root });
  }
  const out = new Map<string, string[]>();
  for (const age of await readdir(root, { withFileTypes: true })) {
    if (!age.isDirectory() || !/^\d{1,3}$/.test(age.name)) continue;
    for (const g of await readdir(path.join(root, age.name), { withFileTypes: true })) {
      const gender = AFAD_GENDER[g.name];
      if (!g.isDirectory() || !gender) continue;
      for (const f of await readdir(path.join(root, age.name, g.name))) {
        if (IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase())) out.set(`${age.name}/${g.name}/${f}`, [gender, ageTag(Number(age.name))]);
      }
    }
  }
  if (out.size === 0) {
    throw new DatasetError('INPUT_EMPTY', `--from afad: ${root} holds no <age>/111/ (male) or <age>/112/ (female) images; expected AFAD-Lite's layout`, { root });
  }
  return out;
}

/**
 * Tags from an AFAD tree (see {@link scanAfad}): an entry matches when its source path ends with `<age>/<111|112>/<file>`.
 * @throws {DatasetError} NO_MATCH when no entry's source lies in the tree.
 */
export function tagFromAfad(entries: readonly ManifestEntry[], afad: Map<string, string[]>): TagResult {
  const used = new Set<string>();
  const result = apply(entries, (e) => {
    const key = normalise(e.source).split('/').slice(-3).join('/');
    const tags = afad.get(key);
    if (tags) used.add(key);
    return tags;
  });
  if (result.matched === 0) {
    throw new DatasetError('NO_MATCH', `no manifest entry comes from the AFAD tree (sources end with <age>/<111|112>/<file>, e.g. ${[...afad.keys()][0]}); build the dataset with --in on the AFAD folder`);
  }
  return { ...result, unknown: [] };
}

/**
 * CelebA attribute (1 = present) → tag. `Male` is special: 1 → gender=male, -1 → gender=female; `Young`:
 * 1 → age=young, -1 → age=adult; `No_Beard` -1 → facial_hair. The first hair colour set wins.
 * Attributes not listed (Attractive, Big_Nose, Oval_Face, ...) describe nothing in the shared
 * vocabulary and are ignored.
 */
export const CELEBA_MAPPING: Record<string, string> = {
  Eyeglasses: 'glasses',
  Smiling: 'expression=smiling',
  Mouth_Slightly_Open: 'expression=open_mouth',
  Wearing_Hat: 'accessories',
  Wearing_Earrings: 'accessories',
  Wearing_Necklace: 'accessories',
  Wearing_Necktie: 'accessories',
  Mustache: 'facial_hair',
  Goatee: 'facial_hair',
  Sideburns: 'facial_hair',
  '5_o_Clock_Shadow': 'facial_hair',
  Bald: 'hair=bald',
  Black_Hair: 'hair=black',
  Blond_Hair: 'hair=blond',
  Brown_Hair: 'hair=brown',
  Gray_Hair: 'hair=gray',
  Pale_Skin: 'skin_tone=pale',
};

/**
 * Parse CelebA's `list_attr_celeba.txt` into tags per image file name.
 * @throws {DatasetError} TAGS_INVALID naming the line: no attribute header, no `Male` column, a row
 *   with the wrong number of values or a value other than 1 / -1.
 */
export function parseCelebaAttributes(text: string, fileName: string): Map<string, string[]> {
  const lines = text.split(/\r?\n/);
  // Line 1 is the image count; line 2 the names. Some copies drop the count line: accept both.
  let headerAt = 0;
  if (/^\s*\d+\s*$/.test(lines[0] ?? '')) headerAt = 1;
  const names = (lines[headerAt] ?? '').trim().split(/\s+/).filter(Boolean);
  if (!names.includes('Male') || names.some((n) => !/^[A-Za-z0-9_]+$/.test(n))) {
    throw new DatasetError('TAGS_INVALID', `${fileName} line ${headerAt + 1}: expected CelebA's attribute names (5_o_Clock_Shadow ... Male ... Young)`, { file: fileName });
  }
  const out = new Map<string, string[]>();
  for (let i = headerAt + 1; i < lines.length; i++) {
    const parts = lines[i].trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) continue;
    if (parts.length !== names.length + 1) {
      throw new DatasetError('TAGS_INVALID', `${fileName} line ${i + 1}: expected an image name and ${names.length} values, found ${parts.length - 1} values`, { file: fileName, line: i + 1 });
    }
    const [image, ...values] = parts;
    const tags: string[] = [];
    let hair = false;
    for (let k = 0; k < names.length; k++) {
      const v = values[k];
      if (v !== '1' && v !== '-1') {
        throw new DatasetError('TAGS_INVALID', `${fileName} line ${i + 1}: ${names[k]} is ${JSON.stringify(v)}; CelebA values are 1 or -1`, { file: fileName, line: i + 1 });
      }
      const on = v === '1';
      const name = names[k];
      if (name === 'Male') tags.push(on ? 'gender=male' : 'gender=female');
      else if (name === 'Young') tags.push(on ? 'age=young' : 'age=adult');
      else if (name === 'No_Beard') {
        if (!on) tags.push('facial_hair');
      } else if (on && CELEBA_MAPPING[name]) {
        const t = CELEBA_MAPPING[name];
        if (t.startsWith('hair=')) {
          if (hair) continue;
          hair = true;
        }
        tags.push(t);
      }
    }
    out.set(image, mergeTags([], tags));
  }
  if (out.size === 0) throw new DatasetError('INPUT_EMPTY', `${fileName}: no image rows after the attribute names`, { file: fileName });
  return out;
}

/**
 * Tags from CelebA attributes: an entry matches when its source's file name is a CelebA image name.
 * @throws {DatasetError} NO_MATCH when no entry's source is listed.
 */
export function tagFromCeleba(entries: readonly ManifestEntry[], attrs: Map<string, string[]>): TagResult {
  const result = apply(entries, (e) => attrs.get(path.posix.basename(normalise(e.source))));
  if (result.matched === 0) {
    throw new DatasetError('NO_MATCH', `no manifest entry comes from an image listed in the CelebA file (e.g. ${[...attrs.keys()][0]}); build the dataset with --in on the CelebA images`);
  }
  return { ...result, unknown: [] };
}
