/**
 * What may reach a log line. Every logged object (and every error, through the `err` serializer) is
 * reduced here before pino writes it, so that no log keeps a secret, a face or a member's id:
 * - byte data (Buffer, typed arrays, ArrayBuffer, long arrays of numbers, base64 image data) becomes
 *   `[N bytes]`: a failed Discord edit used to log the result PNG as a JSON array of numbers;
 * - URLs keep only their origin (Discord's interaction webhook URLs carry the interaction token in the
 *   path), and Discord bot/interaction tokens anywhere in a string are replaced;
 * - keys that name a member or a secret (`user`, `userId`, `owner`, `token`, `authorization`, ...) are
 *   replaced;
 * - errors keep name, message, code, status, method, a short stack and their (reduced) details and cause;
 * - depth, keys, array items and string lengths are capped, so a line stays well under 2 KB.
 * Written here rather than with pino's `redact` paths because the dangerous values sit at unknown
 * depths inside third-party errors (discord.js `requestBody.files[i].data`, `rawError`, ...).
 */

/** Longest string kept (characters). */
const MAX_STRING = 300;
/** Keys kept per object, items per array, levels of nesting. */
const MAX_KEYS = 16;
const MAX_ITEMS = 8;
const MAX_DEPTH = 4;
/** Stack lines kept. */
const STACK_LINES = 6;

/** Keys whose values never reach a log (compared lower-case). */
const SECRET_KEYS = new Set([
  'user',
  'userid',
  'user_id',
  'owner',
  'member',
  'author',
  'token',
  'authorization',
  'password',
  'cookie',
  'files',
  'attachments',
  'requestbody',
  'body',
  'headers',
  'png',
  'image',
  'data',
]);

const URL_RE = /\b(https?|wss?|redis|rediss|postgres|postgresql):\/\/([^/\s"'?#]+)[^\s"']*/gi;
const BOT_TOKEN_RE = /[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g;
const INTERACTION_TOKEN_RE = /aW50ZXJhY3Rpb246[A-Za-z0-9_-]+/g;
const BASE64_IMAGE_RE = /(iVBORw0KGgo|\/9j\/|UklGR|R0lGOD)[A-Za-z0-9+/=]{16,}/g;

/** Remove secrets and URL paths from a string and cap its length. */
export function redactString(s: string): string {
  let out = s
    .replace(URL_RE, (m: string, scheme: string, host: string) => {
      const origin = `${scheme}://${host.replace(/^[^@]*@/, '')}`;
      const rest = m.slice(scheme.length + 3 + host.length);
      return rest === '' || rest === '/' ? origin : `${origin}/[redacted]`; // a bare origin carries nothing to hide
    })
    .replace(BOT_TOKEN_RE, '[token]')
    .replace(INTERACTION_TOKEN_RE, '[token]')
    .replace(BASE64_IMAGE_RE, (m) => `[${Math.floor((m.length * 3) / 4)} bytes]`);
  if (out.length > MAX_STRING) out = `${out.slice(0, MAX_STRING)}…[${out.length - MAX_STRING} more chars]`;
  return out;
}

function isBytes(v: unknown): v is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(v) || v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer);
}

/** A JSON-safe, bounded, secret-free copy of `value`. */
export function redactValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return typeof value === 'bigint' ? value.toString() : value;
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (isBytes(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) return serializeError(value, depth, seen);
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'object') return String(value);
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (depth >= MAX_DEPTH) return Array.isArray(value) ? `[array ${value.length}]` : '[object]';
  if (Array.isArray(value)) {
    // A long array of small integers is byte data serialised as JSON (Buffer.toJSON, a PNG as numbers).
    if (value.length > MAX_ITEMS && value.every((x) => typeof x === 'number')) return `[${value.length} bytes]`;
    const items = value.slice(0, MAX_ITEMS).map((x) => redactValue(x, depth + 1, seen));
    if (value.length > MAX_ITEMS) items.push(`…${value.length - MAX_ITEMS} more`);
    return items;
  }
  // Buffer.toJSON() shape
  const o = value as Record<string, unknown>;
  if (o.type === 'Buffer' && Array.isArray(o.data)) return `[${o.data.length} bytes]`;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(o);
  for (const key of keys.slice(0, MAX_KEYS)) {
    const lower = key.toLowerCase();
    if (SECRET_KEYS.has(lower)) {
      out[key] = '[redacted]';
      continue;
    }
    const v = redactValue(o[key], depth + 1, seen);
    if (v !== undefined) out[key] = v;
  }
  if (keys.length > MAX_KEYS) out['…'] = `${keys.length - MAX_KEYS} more keys`;
  return out;
}

/**
 * The `err` serializer: name, message, code, status, method, a short stack, and the error's own
 * details and cause, reduced like any logged value (no URLs with tokens, no byte arrays).
 */
export function serializeError(err: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (!(err instanceof Error)) return redactValue(err, depth, seen);
  if (seen.has(err)) return '[circular]';
  seen.add(err);
  const e = err as Error & { code?: unknown; status?: unknown; method?: unknown; details?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.constructor?.name ?? 'Error', name: e.name, message: redactString(String(e.message)) };
  if (e.code !== undefined) out.code = redactValue(e.code, depth + 1, seen);
  if (typeof e.status === 'number') out.status = e.status;
  if (typeof e.method === 'string') out.method = e.method;
  if (e.details !== undefined) out.details = redactValue(e.details, depth + 1, seen);
  if (typeof e.stack === 'string') out.stack = redactString(e.stack.split('\n').slice(0, STACK_LINES).join('\n'));
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = serializeError(e.cause, depth + 1, seen);
  return out;
}
