/**
 * Downloads attachment bytes from Discord's attachment hosts only: the URL's host must be on the
 * allow-list (configuration, so tests can allow the stand-in), redirects are refused, the body is
 * streamed with a byte cap, and the whole download has a timeout.
 */
import { BotError } from './bot.errors.ts';

export interface DownloadOptions {
  /** Allowed hosts: a hostname (any port) or `host:port`. */
  allowedHosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** True when `url` is http(s) on an allowed host. */
export function isAllowedUrl(url: string, allowedHosts: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return false;
  const host = u.hostname.toLowerCase();
  return allowedHosts.some((h) => {
    const allowed = h.toLowerCase();
    return allowed === host || allowed === u.host.toLowerCase();
  });
}

/**
 * Download `url` into memory.
 * @throws {BotError} HOST_NOT_ALLOWED, FILE_TOO_LARGE (over `maxBytes`, checked while streaming),
 *   DOWNLOAD_TIMEOUT or DOWNLOAD_FAILED (network error or non-2xx status)
 */
export async function downloadAttachment(url: string, opts: DownloadOptions): Promise<Buffer> {
  if (!isAllowedUrl(url, opts.allowedHosts)) {
    let host = url;
    try {
      host = new URL(url).host;
    } catch {
      /* keep the raw value */
    }
    throw new BotError('HOST_NOT_ALLOWED', `attachment host ${host} is not one of ${opts.allowedHosts.join(', ')}`, { host });
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const res = await fetch(url, { redirect: 'error', signal });
    if (!res.ok || !res.body) throw new BotError('DOWNLOAD_FAILED', `download answered HTTP ${res.status}`, { status: res.status });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      await res.body.cancel().catch(() => undefined);
      throw new BotError('FILE_TOO_LARGE', `download of ${declared} bytes exceeds ${opts.maxBytes}`, { size: declared, limit: opts.maxBytes });
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const reader = res.body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > opts.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new BotError('FILE_TOO_LARGE', `download exceeded ${opts.maxBytes} bytes`, { size: total, limit: opts.maxBytes });
      }
      chunks.push(Buffer.from(value));
    }
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof BotError) throw err;
    // Cancelled by the caller (shutdown, or the member asked to be forgotten): not a download problem.
    if (opts.signal?.aborted) throw new BotError('SHUTTING_DOWN', 'download cancelled', {}, { cause: err });
    if (timeout.aborted) throw new BotError('DOWNLOAD_TIMEOUT', `download took longer than ${opts.timeoutMs} ms`, { timeoutMs: opts.timeoutMs }, { cause: err });
    throw new BotError('DOWNLOAD_FAILED', `download failed: ${(err as Error).message}`, {}, { cause: err });
  }
}
