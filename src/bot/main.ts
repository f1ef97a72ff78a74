/**
 * The bot's entry: check the Discord credentials, open and migrate the database, start the inference
 * client, log in, and shut down cleanly on SIGINT/SIGTERM. `webtoon bot` (and `npm start`) call
 * {@link runBot}; each shard process under `webtoon bot --shards` does too.
 */
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { migrateDatabase, openDatabaseFromConfig, type DatabaseHandle } from '../db/client.ts';
import { FeedbackService } from '../db/feedback.service.ts';
import type { RebalancingReport } from '../db/report.ts';
import { createInferenceClient, type InferenceClient } from '../inference/index.ts';
import { moduleLogger } from '../logger.ts';
import { createBot, type Bot } from './bot.ts';

const log = moduleLogger('bot');

export const PORTAL_URL = 'https://discord.com/developers/applications';

/**
 * Throw one clear message naming every missing Discord setting and where to get it.
 * @throws {ConfigError} CONFIG_MISSING
 */
export function requireDiscordCredentials(cfg: Pick<Config, 'DISCORD_TOKEN' | 'DISCORD_APPLICATION_ID'>): asserts cfg is typeof cfg & { DISCORD_TOKEN: string; DISCORD_APPLICATION_ID: string } {
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
      `the bot cannot start.\n  ${missing.join('\n  ')}\n  Set them in the environment, e.g. DISCORD_TOKEN=... DISCORD_APPLICATION_ID=... npm start (.env.example lists every setting). Full steps: docs/bot.md.`,
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

export interface RunningBot {
  bot: Bot;
  /** Resolves when the bot has stopped (after a signal or {@link Bot.stop}). */
  stopped: Promise<void>;
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
  const database = opts.database ?? (await openDatabaseFromConfig(cfg));
  let inference: InferenceClient | undefined;
  let bot: Bot | undefined;
  try {
    await migrateDatabase(database);
    inference = opts.inference ?? (await createInferenceClient(cfg));
    bot = await createBot({
      config: cfg,
      inference,
      database,
      feedback: new FeedbackService(database),
      renderChart,
      owns: { inference: !opts.inference, database: !opts.database },
    });
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => (resolveStopped = r));
    const started = bot;
    const stop = started.stop.bind(started);
    started.stop = async (graceMs) => {
      const r = await stop(graceMs);
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
    await started.start();
    return { bot: started, stopped };
  } catch (err) {
    await bot?.client.destroy().catch(() => undefined);
    if (!opts.inference) await inference?.close().catch(() => undefined);
    if (!opts.database) await database.close().catch(() => undefined);
    throw err;
  }
}
