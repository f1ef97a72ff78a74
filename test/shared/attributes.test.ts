import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_IDS, ATTRIBUTES, attributeById, isAttributeId } from '../../src/shared/attributes.ts';

describe('ATTRIBUTES', () => {
  it("starts with the seed project's documented failures, then the rest of the vocabulary", () => {
    expect(ATTRIBUTE_IDS).toEqual([
      'gender', 'glasses', 'hands', 'hair', 'age', 'skin_tone', 'facial_hair', 'accessories', 'expression', 'pose', 'background', 'identity', 'other',
    ]);
  });

  it('gives every attribute a unique snake_case id, a label and an emoji', () => {
    expect(new Set(ATTRIBUTE_IDS).size).toBe(ATTRIBUTES.length);
    for (const a of ATTRIBUTES) {
      expect(a.id).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(a.label.length).toBeGreaterThan(0);
      expect(a.label.length).toBeLessThanOrEqual(25); // fits a Discord select-menu option comfortably
      expect(a.emoji).toMatch(/\p{Extended_Pictographic}/u);
    }
  });
});

describe('isAttributeId', () => {
  it('accepts vocabulary ids only', () => {
    expect(isAttributeId('glasses')).toBe(true);
    expect(isAttributeId('Glasses')).toBe(false);
    expect(isAttributeId('wings')).toBe(false);
    expect(isAttributeId(undefined)).toBe(false);
    expect(isAttributeId(3)).toBe(false);
  });
});

describe('attributeById', () => {
  it('returns the label and emoji of an id and names the valid ids for an unknown one', () => {
    expect(attributeById('skin_tone')).toEqual({ id: 'skin_tone', label: 'Skin tone', emoji: '🎨' });
    expect(() => attributeById('wings' as never)).toThrow(/expected one of gender, glasses/);
  });
});
