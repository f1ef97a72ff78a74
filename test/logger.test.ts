import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { REST, Routes } from 'discord.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactString, redactValue } from '../src/log-redaction.ts';
import { createLogger } from '../src/logger.ts';

/** A logger writing into an array of lines. */
function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { sut: createLogger(stream, 'debug'), lines };
}

const INTERACTION_TOKEN = `aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQ${'x'.repeat(120)}`;
const APP_ID = '123456789012345678';

describe('logger redaction', () => {
  let server: http.Server;
  let api: string;
  beforeAll(async () => {
    // Discord's answer to an edit of an interaction reply that no longer exists.
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Unknown Message', code: 10008 }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('logs a real failed Discord edit with name, code, status and method, and without the token or the PNG', async () => {
    // Before: the whole DiscordAPIError was logged: the URL with the interaction token and the result
    // PNG (the member's face with side-by-side) as a JSON array of numbers.
    const png = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#c08060', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .png()
      .toBuffer();
    const rest = new REST({ api, retries: 0 }).setToken('MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789ABCD');
    const err = await rest
      .patch(Routes.webhookMessage(APP_ID, INTERACTION_TOKEN, '@original'), { body: { content: '' }, files: [{ name: 'result.png', data: png }], auth: false })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify(err)).toContain(INTERACTION_TOKEN); // the raw error does hold the token

    const { sut, lines } = capture();
    sut.child({ module: 'bot' }).warn({ err, interaction: '998877665544332211' }, 'could not edit the reply with the failure');
    expect(lines).toHaveLength(1);
    const line = lines[0];
    expect(Buffer.byteLength(line)).toBeLessThan(2048);
    expect(line).not.toContain(INTERACTION_TOKEN);
    expect(line).not.toContain('aW50ZXJhY3Rpb24');
    expect(line).not.toMatch(/137,80,78,71/); // PNG signature as numbers
    expect(line).not.toContain('iVBORw0KGgo');
    const logged = JSON.parse(line) as { err: Record<string, unknown>; interaction: string };
    expect(logged.err).toMatchObject({ name: 'DiscordAPIError[10008]', code: 10008, status: 404, method: 'PATCH' });
    expect(logged.interaction).toBe('998877665544332211');
  });

  it('drops byte arrays, member ids and secrets anywhere in a logged object', () => {
    const { sut, lines } = capture();
    sut.info(
      {
        user: '111111111111111111',
        nested: { userId: '222222222222222222', buffer: Buffer.alloc(5000), json: Buffer.alloc(64).toJSON(), numbers: Array.from({ length: 100 }, (_, i) => i) },
        note: `see https://discord.com/api/v10/webhooks/${APP_ID}/${INTERACTION_TOKEN}/messages/@original`,
        big: 'x'.repeat(10_000),
      },
      'hello',
    );
    const line = lines[0];
    expect(Buffer.byteLength(line)).toBeLessThan(2048);
    expect(line).not.toContain('111111111111111111');
    expect(line).not.toContain('222222222222222222');
    expect(line).not.toContain(INTERACTION_TOKEN);
    const logged = JSON.parse(line) as Record<string, Record<string, unknown>>;
    expect(logged.nested).toMatchObject({ buffer: '[5000 bytes]', json: '[64 bytes]', numbers: '[100 bytes]' });
    expect(logged.note).toBe('see https://discord.com/[redacted]');
  });

  it('keeps ordinary values as they are', () => {
    expect(redactValue({ code: 'NO_FACE', faces: 2, ok: true, list: [1, 2] })).toEqual({ code: 'NO_FACE', faces: 2, ok: true, list: [1, 2] });
    expect(redactString('plain message')).toBe('plain message');
    expect(redactString('redis://user:pw@host:6379/0')).toBe('redis://host:6379/[redacted]');
  });

  it('keeps a bare origin whole (the health endpoint a service logs at start), credentials still dropped', () => {
    expect(redactValue({ url: 'http://127.0.0.1:9464' })).toEqual({ url: 'http://127.0.0.1:9464' });
    expect(redactString('listening on http://127.0.0.1:9464/ now')).toBe('listening on http://127.0.0.1:9464 now');
    expect(redactString('redis://user:pw@host:6379')).toBe('redis://host:6379');
    expect(redactString('https://discord.com/api/v10/webhooks/1/tok')).toBe('https://discord.com/[redacted]');
  });
});
