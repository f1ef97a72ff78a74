/**
 * The operator's HTTP endpoint of the bot and of `webtoon worker` (METRICS_PORT, bound to METRICS_HOST,
 * 127.0.0.1 by default):
 * - `GET /healthz`: JSON `{ status: "ok" | "unhealthy", service, checks: { name: { ok, detail } } }`,
 *   200 when every check passes, 503 otherwise (container healthchecks and load balancers read the code);
 * - `GET /metrics`: the Prometheus text exposition of {@link ServiceMetrics}.
 * Anything else is 404; methods other than GET/HEAD are 405. node:http is enough for two routes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.ts';
import { withTimeout, type ServiceMetrics } from './metrics.ts';

/** One health check: resolves with a short detail when healthy, throws (or returns ok: false) when not. */
export type HealthCheck = () => Promise<{ ok: boolean; detail: string }>;

export interface HealthServerOptions {
  service: 'bot' | 'worker';
  metrics: ServiceMetrics;
  checks: Record<string, HealthCheck>;
  /** 0 = any free port (tests). */
  port: number;
  host: string;
  /** Longest one check may take before it counts as failed (ms; default 3000). */
  checkTimeoutMs?: number;
}

export interface HealthServer {
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Run every check (in parallel, each bounded in time). */
export async function runChecks(checks: Record<string, HealthCheck>, timeoutMs = 3000): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; detail: string }> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, await withTimeout(check(), timeoutMs)] as const;
      } catch (err) {
        return [name, { ok: false, detail: err instanceof Error ? err.message : String(err) }] as const;
      }
    }),
  );
  return { ok: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
}

/**
 * Start listening; resolves once bound.
 * @throws the listen error (EADDRINUSE, EACCES) with the address in its message.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url.pathname === '/healthz') {
      void runChecks(opts.checks, opts.checkTimeoutMs).then((r) =>
        send(r.ok ? 200 : 503, 'application/json', `${JSON.stringify({ status: r.ok ? 'ok' : 'unhealthy', service: opts.service, checks: r.checks })}\n`),
      );
      return;
    }
    if (url.pathname === '/metrics') {
      opts.metrics.text().then(
        (text) => send(200, opts.metrics.contentType, text),
        (err: unknown) => send(500, 'text/plain', `metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
      );
      return;
    }
    send(404, 'text/plain', 'not found: try /healthz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConfigError('CONFIG_INVALID', `cannot listen on ${opts.host}:${opts.port} for /healthz and /metrics (${err.code ?? err.message}); set METRICS_PORT to a free port`, { host: opts.host, port: opts.port }, { cause: err }));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
