/**
 * Image tags: what a training image shows, in the shared attribute vocabulary. A tag is either an
 * attribute id (`glasses`: the image shows glasses) or `attribute=value` for attributes that take a
 * value (`gender=male`, `age=young`, `hair=blond`). Values are lower-case words (`[a-z0-9_-]+`).
 * Pure: no I/O.
 */
import { ATTRIBUTE_IDS, isAttributeId, type AttributeId } from '../../shared/attributes.ts';

/** A parsed tag. */
export interface Tag {
  attribute: AttributeId;
  /** Absent for a presence tag such as `glasses`. */
  value?: string;
}

const VALUE = /^[a-z0-9][a-z0-9_-]*$/;

/** Why {@link parseTag} refused a tag. */
export type TagProblem = { kind: 'unknown-attribute'; attribute: string } | { kind: 'bad-value'; value: string };

/** Parse `glasses` or `gender=male`; returns the problem instead of throwing so callers can name the line. */
export function parseTag(raw: string): Tag | TagProblem {
  const text = raw.trim();
  const eq = text.indexOf('=');
  const attribute = (eq < 0 ? text : text.slice(0, eq)).trim();
  if (!isAttributeId(attribute)) return { kind: 'unknown-attribute', attribute };
  if (eq < 0) return { attribute };
  const value = text.slice(eq + 1).trim().toLowerCase();
  if (!VALUE.test(value)) return { kind: 'bad-value', value };
  return { attribute, value };
}

/** True when {@link parseTag} returned a problem. */
export function isTagProblem(t: Tag | TagProblem): t is TagProblem {
  return 'kind' in t;
}

/** The canonical text of a tag: `glasses`, `gender=male`. */
export function formatTag(tag: Tag): string {
  return tag.value === undefined ? tag.attribute : `${tag.attribute}=${tag.value}`;
}

/** One line naming what a tag problem is, for error messages. */
export function describeTagProblem(p: TagProblem): string {
  return p.kind === 'unknown-attribute'
    ? `unknown attribute "${p.attribute}"; expected one of ${ATTRIBUTE_IDS.join(', ')} (optionally attribute=value)`
    : `tag value "${p.value}" must be a lower-case word (letters, digits, _ or -)`;
}

/**
 * Merge tags into a sorted, duplicate-free list. A valued tag replaces an earlier value of the same
 * attribute (an image has one gender), a presence tag is kept beside values.
 */
export function mergeTags(existing: readonly string[], added: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const raw of [...existing, ...added]) {
    const t = parseTag(raw);
    if (isTagProblem(t)) continue;
    const key = t.value === undefined ? t.attribute : `${t.attribute}=`;
    out.set(key, formatTag(t));
  }
  return [...out.values()].sort();
}

/** The tags of an image that concern `attribute`. */
export function tagsOf(tags: readonly string[], attribute: AttributeId): Tag[] {
  return tags.map(parseTag).filter((t): t is Tag => !isTagProblem(t) && t.attribute === attribute);
}
