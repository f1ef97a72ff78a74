/**
 * The translation directions, defined once for every wing. Domain A = real faces (photos), domain B =
 * webtoon faces, as in the official `trainA`/`trainB` layout: `a2b` is `/webtoonify`, `b2a` is `/reverse`.
 * Pure: no I/O, no imports.
 */

/** `a2b`: real photo → webtoon face; `b2a`: webtoon face → real face. */
export type Direction = 'a2b' | 'b2a';

/** Every direction, in a stable order. */
export const DIRECTIONS: readonly Direction[] = ['a2b', 'b2a'];

/** True when `value` is `'a2b'` or `'b2a'`. */
export function isDirection(value: unknown): value is Direction {
  return value === 'a2b' || value === 'b2a';
}

/**
 * Read a direction written loosely, as other exporters do in metadata (`A2B`, `AtoB`, `genA2B`, `a_to_b`).
 * @returns the direction, or null when `value` names none.
 */
export function normalizeDirection(value: string | undefined | null): Direction | null {
  if (!value) return null;
  const s = value.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/^gen/, '');
  if (s === 'a2b' || s === 'atob') return 'a2b';
  if (s === 'b2a' || s === 'btoa') return 'b2a';
  return null;
}
