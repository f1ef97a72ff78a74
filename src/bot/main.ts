/**
 * The bot's entry: check the Discord credentials, open and migrate the database, start the inference
 * client, log in, and shut down cleanly on SIGINT/SIGTERM. `webtoon bot` (and `npm start`) call
 * {@link runBot}; each shard process under `webtoon bot --shards` does too.
 */
import { REST, Routes, Status, type RESTGetCurrentApplicationResult } from 'discord.js';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { migrateDatabase, openDatabaseFromConfig, type DatabaseHandle } from '../db/client.ts';
import { FeedbackService } from '../db/feedback.service.ts';
import { AuditStore } from '../db/audit.store.ts';
import { GenerationAuditor, WorkerAuditRunner } from '../analysis/generation-auditor.ts';
import type { RebalancingReport } from '../db/report.ts';
import { createInferenceClient, type InferenceClient } from '../inference/index.ts';
import { moduleLogger } from '../logger.ts';
import { startHealthServer, type HealthServer } from '../observability/health.server.ts';
import { instrumentInference, ServiceMetrics } from '../observability/metrics.ts';
import { BotError } from './bot.errors.ts';
import { createBot, type Bot } from './bot.ts';

const log = moduleLogger('bot');

export const PORTAL_URL = 'https://discord.com/developers/applications';

/**
 * Throw one clear message naming every missing Discord setting and where to get it.
 * @throws {ConfigError} CONFIG_MISSING
 */
export function requireDiscordCredentials(
  cfg: Pick<Config, 'DISCORD_TOKEN' | 'DISCORD_APPLICATION_ID'>,
  purpose: { what: string; example: string } = { what: 'the bot cannot start', example: 'npm start' },
): asserts cfg is typeof cfg & { DISCORD_TOKEN: string; DISCORD_APPLICATION_ID: string } {
  const missing: string[] = [];
  if (!cfg.DISCORD_TOKEN) {
    missing.push(`DISCORD_TOKEN is not set: in the Discord Developer Portal (${PORTAL_URL}) open your application → Bot → Reset Token, and copy the token.`);
  }
  if (!cfg.DISCORD_APPLICATION_ID) {
    missing.push(`DISCORD_APPLICATION_ID is not set: it is the "Application ID" on your application's General Information page in the Developer Portal.`);
  }
  if (missing.length) {
    const names = [!cfg.DISCORD_TOKEN && 'DISCORD_TOKEN', !cfg.DISCORD_APPLICATION_ID && 'DISCORD_APPLICATION_ID'].filter(Boolean) as string[];
    throw new ConfigError(
      'CONFIG_MISSING',
      `${purpose.what}.\n  ${missing.join('\n  ')}\n  Set them in .env (cp .env.example .env) or in the environment, e.g. DISCORD_TOKEN=... DISCORD_APPLICATION_ID=... ${purpose.example}. Full steps: docs/bot.md.`,
      { missing: names },
    );
  }
}

/**
 * The chart for /webtoon-stats, loaded on first use: vega (inside report-chart) must not be imported
 * before discord.js, whose inspect polyfill then fails to load ("string \"Set()\" is not iterable").
 */
async function renderChart(report: RebalancingReport): Promise<Buffer> {
  const { renderReportChart } = await import('../db/report-chart.ts');
  return renderReportChart(report);
}

/** Turn a failed login into one clear line (wrong token, unreachable API) instead of a stack trace. */
export function explainLoginFailure(err: unknown, apiUrl: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'TokenInvalid' || (err as { status?: unknown }).status === 401) {
    return new ConfigError(
      'CONFIG_INVALID',
      `Discord refused DISCORD_TOKEN (401). Reset the token in the Developer Portal (${PORTAL_URL} → your application → Bot → Reset Token) and set the new one.`,
      { apiUrl },
      { cause: err },
    );
  }
  if (err instanceof Error && !('status' in err) && /fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|timed out|other side closed/i.test(`${err.message} ${String((err as { cause?: unknown }).cause)}`)) {
    return new BotError('DISCORD_UNREACHABLE', `cannot reach the Discord API at ${apiUrl} (${err.message}). Check the network, or DISCORD_API_URL.`, { apiUrl }, { cause: err });
  }
  return err;
}

/**
 * Check the token and application id against the API before loading anything heavy, so a wrong
 * token or an unreachable API fails in a second with one clear line.
 * @throws {ConfigError} CONFIG_INVALID for a refused token or an application id of another application
 * @throws {BotError} DISCORD_UNREACHABLE when the API does not answer
 */
export async function preflight(cfg: Pick<Config, 'DISCORD_API_URL'> & { DISCORD_TOKEN: string; DISCORD_APPLICATION_ID: string }): Promise<void> {
  const rest = new REST({ api: cfg.DISCORD_API_URL, retries: 1, timeout: 10_000 }).setToken(cfg.DISCORD_TOKEN);
  let app: RESTGetCurrentApplicationResult;
  try {
    app = (await rest.get(Routes.currentApplication())) as RESTGetCurrentApplicationResult;
  } catch (err) {
    throw explainLoginFailure(err, cfg.DISCORD_API_URL);
  }
  if (app.id !== cfg.DISCORD_APPLICATION_ID) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `DISCORD_APPLICATION_ID is ${cfg.DISCORD_APPLICATION_ID}, but the token belongs to application ${app.id}. Copy the Application ID from the same application's General Information page.`,
      { expected: app.id },
    );
  }
}

export interface RunningBot {
  bot: Bot;
  /** Resolves when the bot has stopped (after a signal or {@link Bot.stop}). */
  stopped: Promise<void>;
  /** The /healthz + /metrics endpoint when METRICS_PORT is set. */
  health?: HealthServer;
}

export interface RunBotOptions {
  /** Install SIGINT/SIGTERM handlers that stop the bot (default true). */
  handleSignals?: boolean;
  /** Pre-built services (tests); otherwise built from the configuration. */
  inference?: InferenceClient;
  database?: DatabaseHandle;
}

/**
 * Start the bot from the configuration: credentials check, database (migrated), inference, login.
 * @throws {ConfigError} CONFIG_MISSING when the Discord credentials are not set
 */
export async function runBot(cfg: Config, opts: RunBotOptions = {}): Promise<RunningBot> {
  requireDiscordCredentials(cfg);
  await preflight(cfg);
  const database = opts.database ?? (await openDatabaseFromConfig(cfg));
  let inference: InferenceClient | undefined;
  let bot: Bot | undefined;
  let health: HealthServer | undefined;
  // Rate-limit counts shared by every shard and bot process; one failed command → the per-process fallback.
  const redis = cfg.REDIS_URL ? new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 1 }) : undefined;
  try {
    await migrateDatabase(database);
    inference = opts.inference ?? (await createInferenceClient(cfg));
    const metrics = cfg.METRICS_PORT === undefined ? undefined : new ServiceMetrics({ service: 'bot' });
    bot = await createBot({
      config: cfg,
      inference: metrics ? instrumentInference(inference, metrics) : inference,
      database,
      feedback: new FeedbackService(database),
      renderChart,
      auditor: cfg.AUDIT_ENABLED ? new GenerationAuditor(new WorkerAuditRunner(), new AuditStore(database), { maxPending: cfg.AUDIT_MAX_PENDING }) : undefined,
      redis,
      owns: { inference: !opts.inference, database: !opts.database, auditor: true, redis: true },
    });
    if (metrics) {
      const client = bot.client;
      const served = inference;
      metrics.setGateway(client);
      health = await startHealthServer({
        service: 'bot',
        metrics,
        port: cfg.METRICS_PORT!,
        host: cfg.METRICS_HOST,
        checks: {
          gateway: async () => ({ ok: client.ws.status === Status.Ready, detail: `${Status[client.ws.status] ?? client.ws.status}, ping ${client.ws.ping} ms` }),
          database: async () => {
            await database.db.execute(sql`select 1`);
            return { ok: true, detail: database.kind };
          },
          models: async () => {
            const v = await served.modelVersions();
            return { ok: true, detail: `a2b ${v.a2b ?? 'none'}, b2a ${v.b2a ?? 'none'}` };
          },
        },
      });
      log.info({ url: health.url }, `health and metrics on ${health.url}/healthz and ${health.url}/metrics`);
    }
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    const started = bot;
    const stop = started.stop.bind(started);
    const endpoint = health;
    started.stop = async (graceMs) => {
      const r = await stop(graceMs);
      await endpoint?.close();
      resolveStopped();
      return r;
    };
    if (opts.handleSignals ?? true) {
      const onSignal = (signal: NodeJS.Signals) => {
        log.info({ signal }, 'signal received, shutting down');
        started.stop().catch((err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exitCode = 1;
        });
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      void stopped.then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
    }
    await started.start().catch((err: unknown) => {
      throw explainLoginFailure(err, cfg.DISCORD_API_URL);
    });
    return { bot: started, stopped, health };
  } catch (err) {
    await health?.close().catch(() => undefined);
    await bot?.client.destroy().catch(() => undefined);
    if (!opts.inference) await inference?.close().catch(() => undefined);
    if (!opts.database) await database.close().catch(() => undefined);
    redis?.disconnect();
    throw err;
  }
}
