import { describe, expect, it } from 'vitest';
import { applyChange, parseVariationId } from '../../src/bot/handlers/variation.handler.ts';
import { variationsFor } from '../../src/bot/reply.render.ts';
import { SourceCache } from '../../src/bot/source-cache.ts';
import type { TranslationRequest } from '../../src/bot/translation.service.ts';

const req: TranslationRequest = { direction: 'a2b', attention: false, output: 'face', faces: 'one', crop: 'auto', private: false };
const source = (userId: string) => ({ userId, attachment: { url: 'https://cdn.discordapp.com/a.png', name: 'a.png', contentType: 'image/png', size: 10, width: 64, height: 64 }, request: req });

describe('SourceCache', () => {
  it('keeps a source until it expires, then forgets it', () => {
    let now = 1000;
    const sut = new SourceCache(500, 10, () => now);
    sut.remember(1, source('11'));
    expect(sut.get(1)?.userId).toBe('11');
    now = 1499;
    expect(sut.get(1)).toBeDefined();
    now = 1500;
    expect(sut.get(1)).toBeUndefined();
    expect(sut.size).toBe(0);
  });

  it('drops the oldest entries beyond its capacity, and everything of a forgotten member', () => {
    const sut = new SourceCache(60_000, 2);
    sut.remember(1, source('11'));
    sut.remember(2, source('22'));
    sut.remember(3, source('11'));
    expect(sut.get(1)).toBeUndefined();
    expect(sut.forgetUser('11')).toBe(1);
    expect([sut.get(2)?.userId, sut.get(3)]).toEqual(['22', undefined]);
  });
});

describe('variation buttons', () => {
  it('parses var:<id>:<change> and refuses anything else', () => {
    expect(parseVariationId('var:42:photo')).toEqual({ generationId: 42, change: 'photo' });
    for (const bad of ['var:0:photo', 'var:x:photo', 'var:42:poster', 'var:42']) expect(() => parseVariationId(bad)).toThrow(/bad variation id/);
  });

  it('changes one thing and links the parent', () => {
    expect(applyChange(req, 'photo', 7)).toEqual({ ...req, output: 'photo', parentGenerationId: 7 });
    expect(applyChange({ ...req, attention: true }, 'attention', 7).attention).toBe(false);
    expect(applyChange(req, '512', 7).outputSize).toBe(512);
  });

  it('offers the other modes, attention on/off, and 512 px only where it changes something', () => {
    expect(variationsFor({ output: 'face', attention: false }).map((v) => v.label)).toEqual(['Whole photo', 'Side by side', 'Attention on', '512 px']);
    expect(variationsFor({ output: 'photo', attention: true }).map((v) => v.label)).toEqual(['Face', 'Side by side', 'Attention off']);
    expect(variationsFor({ output: 'side_by_side', attention: false, outputSize: 512 }).map((v) => v.change)).toEqual(['face', 'photo', 'attention']);
  });
});
