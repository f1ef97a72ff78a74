import { describe, expect, it } from 'vitest';
import { DIRECTIONS, isDirection, normalizeDirection } from '../../src/shared/direction.ts';

describe('direction', () => {
  it('lists both directions', () => {
    expect(DIRECTIONS).toEqual(['a2b', 'b2a']);
  });

  it('isDirection accepts exactly a2b and b2a', () => {
    expect(DIRECTIONS.every(isDirection)).toBe(true);
    for (const bad of ['A2B', 'ab', '', null, undefined, 1]) expect(isDirection(bad)).toBe(false);
  });

  it('normalizeDirection reads the spellings other exporters write', () => {
    expect(['A2B', 'AtoB', 'genA2B', 'a_to_b'].map(normalizeDirection)).toEqual(['a2b', 'a2b', 'a2b', 'a2b']);
    expect(['B2A', 'genB2A', 'b-to-a'].map(normalizeDirection)).toEqual(['b2a', 'b2a', 'b2a']);
    expect([undefined, '', 'sideways'].map(normalizeDirection)).toEqual([null, null, null]);
  });
});
