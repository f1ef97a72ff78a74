import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadAttachment, isAllowedUrl } from '../../src/bot/download.adapter.ts';

describe('download.adapter', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/small') res.end(Buffer.alloc(100, 1));
      else if (req.url === '/big-chunked') {
        // no content-length: the cap must be enforced while streaming
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        let sent = 0;
        const timer = setInterval(() => {
          res.write(Buffer.alloc(64 * 1024));
          sent += 64 * 1024;
          if (sent > 4 * 1024 * 1024) {
            clearInterval(timer);
            res.end();
          }
        }, 1);
        res.on('close', () => clearInterval(timer));
      } else if (req.url === '/slow') setTimeout(() => res.end('late'), 2000);
      else if (req.url === '/redirect') res.writeHead(302, { location: 'http://example.com/x.png' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const opts = { allowedHosts: ['127.0.0.1'], maxBytes: 1024 * 1024, timeoutMs: 1000 };
  const codeOf = (p: Promise<unknown>) => p.then(() => null, (e: { code: string }) => e.code);

  describe('isAllowedUrl', () => {
    it('accepts allowed hosts (any port, or host:port) over http(s) only', () => {
      expect(isAllowedUrl('https://cdn.discordapp.com/attachments/1/2/a.png?ex=1', ['cdn.discordapp.com'])).toBe(true);
      expect(isAllowedUrl('http://127.0.0.1:5555/a', ['127.0.0.1:5555'])).toBe(true);
      expect(isAllowedUrl('https://cdn.discordapp.com.evil.example/a.png', ['cdn.discordapp.com'])).toBe(false);
      expect(isAllowedUrl('file:///etc/passwd', ['cdn.discordapp.com'])).toBe(false);
      expect(isAllowedUrl('not a url', ['cdn.discordapp.com'])).toBe(false);
    });
  });

  describe('downloadAttachment', () => {
    it('returns the bytes', async () => {
      expect((await downloadAttachment(`${base}/small`, opts)).length).toBe(100);
    });

    it('refuses a host that is not allowed without connecting', async () => {
      expect(await codeOf(downloadAttachment(`${base.replace('127.0.0.1', 'localhost')}/small`, opts))).toBe('HOST_NOT_ALLOWED');
    });

    it('stops a stream at the byte cap', async () => {
      expect(await codeOf(downloadAttachment(`${base}/big-chunked`, opts))).toBe('FILE_TOO_LARGE');
    });

    it('times out', async () => {
      expect(await codeOf(downloadAttachment(`${base}/slow`, { ...opts, timeoutMs: 200 }))).toBe('DOWNLOAD_TIMEOUT');
    });

    it('refuses redirects and error statuses', async () => {
      expect(await codeOf(downloadAttachment(`${base}/redirect`, opts))).toBe('DOWNLOAD_FAILED');
      expect(await codeOf(downloadAttachment(`${base}/missing`, opts))).toBe('DOWNLOAD_FAILED');
    });
  });
});
