import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

describe('loadConfig', () => {
  it('gives single-machine defaults when nothing is set', () => {
    const sut = loadConfig({});
    expect(sut.DATABASE_URL).toBeUndefined();
    expect(sut.pgliteDir).toBe(path.resolve('./data/pglite'));
    expect(sut.MODELS_DIR).toBe(path.resolve('./models'));
    expect(sut.ORT_PROVIDERS).toEqual(['cuda', 'cpu']);
    expect(sut.INFERENCE_TRANSPORT).toBe('inprocess');
    expect(sut.MAX_IMAGE_BYTES).toBe(10 * 1024 * 1024);
    expect(sut.LOG_LEVEL).toBe('info');
    expect(sut.ANIME_CASCADE_PATH).toBe(path.resolve(import.meta.dirname, '../assets/lbpcascade_animeface.xml'));
  });

  it('is silent by default under NODE_ENV=test and honours an explicit LOG_LEVEL', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).LOG_LEVEL).toBe('silent');
    expect(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'debug' }).LOG_LEVEL).toBe('debug');
  });

  it('parses lists and numbers', () => {
    const sut = loadConfig({ ORT_PROVIDERS: 'cpu', QUEUE_MAX: '3', DISCORD_ATTACHMENT_HOSTS: '127.0.0.1, cdn.discordapp.com' });
    expect(sut.ORT_PROVIDERS).toEqual(['cpu']);
    expect(sut.QUEUE_MAX).toBe(3);
    expect(sut.DISCORD_ATTACHMENT_HOSTS).toEqual(['127.0.0.1', 'cdn.discordapp.com']);
  });

  it('rejects malformed values with every problem named', () => {
    const act = () => loadConfig({ DATABASE_URL: 'mysql://x', QUEUE_MAX: '-1' });
    expect(act).toThrow(ConfigError);
    try {
      act();
    } catch (err) {
      const e = err as ConfigError;
      expect(e.code).toBe('CONFIG_INVALID');
      expect(e.message).toContain('DATABASE_URL');
      expect(e.message).toContain('QUEUE_MAX');
      expect(e.name).toBe('ConfigError[CONFIG_INVALID]');
    }
  });
});
