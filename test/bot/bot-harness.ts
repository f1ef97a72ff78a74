/**
 * Starts the bot's real entry ({@link runBot}) against the local Discord stand-in, with a real
 * database (PGlite in memory, or Postgres from test/helpers/databases.ts) and the real inference
 * worker serving tiny generators made by our exporter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import type { DatabaseHandle } from '../../src/db/client.ts';
import { FeedbackService } from '../../src/db/feedback.service.ts';
import { exportedTestModels, installModel, sharedDir, tempModelsDir } from '../helpers/models.ts';
import { runBot, type RunningBot } from '../../src/bot/main.ts';
import { createInferenceClient } from '../../src/inference/index.ts';
import { DiscordStandIn } from '../discord-stand-in/discord-stand-in.ts';

export { repoRoot as REPO_ROOT, sharedDir as SHARED } from '../helpers/models.ts';
export const ASTRONAUT = path.join(sharedDir, 'data/photos/astronaut.png');

export interface Harness {
  standIn: DiscordStandIn;
  config: Config;
  running: RunningBot;
  feedback: FeedbackService;
  database: DatabaseHandle;
  modelsDir: string;
  /** Stop the bot (graceful) and the stand-in; keeps the database open for the caller. */
  stopBot(): Promise<void>;
  /** Start a fresh bot process-equivalent (new client, same database and stand-in): a restart. */
  restartBot(): Promise<void>;
  dispose(): Promise<void>;
}

/** Tiny generators for both directions (exported by our exporter from the official-layout fixture) in a fresh MODELS_DIR. */
export async function makeModelsDir(): Promise<{ dir: string; cleanup: () => void; versions: { a2b: string; b2a: string } }> {
  const models = await exportedTestModels();
  const dir = tempModelsDir('webtoon-bot-models-');
  installModel(models.a2b, dir, 'a2b.onnx');
  installModel(models.b2a, dir, 'b2a.onnx');
  return { dir, versions: models.versions, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface HarnessOptions {
  database: DatabaseHandle;
  env?: Record<string, string>;
  modelsDir?: string;
  /**
   * Build the inference client here and hand it to the bot (which then does not close it), so it
   * survives bot restarts; closed by dispose() after `closeDelayMs`. Default: the bot builds its own.
   */
  sharedInference?: { closeDelayMs: number };
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const standIn = new DiscordStandIn();
  await standIn.start();
  const models = opts.modelsDir ? { dir: opts.modelsDir ?? os.tmpdir(), cleanup: () => undefined } : await makeModelsDir();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'webtoon-bot-data-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATA_DIR: dataDir,
    MODELS_DIR: models.dir,
    ORT_PROVIDERS: 'cpu',
    ORT_THREADS: '1',
    DISCORD_TOKEN: standIn.token,
    DISCORD_APPLICATION_ID: standIn.applicationId,
    DISCORD_API_URL: standIn.apiUrl,
    DISCORD_ATTACHMENT_HOSTS: '127.0.0.1',
    DOWNLOAD_TIMEOUT_MS: '5000',
    RATE_LIMIT_USER_PER_MIN: '0',
    RATE_LIMIT_GUILD_PER_MIN: '0',
    RATE_LIMIT_STATS_PER_MIN: '0',
    RATE_LIMIT_REPORTS_PER_MIN: '0',
    RATE_LIMIT_VOTES_PER_MIN: '0',
    MAX_IMAGE_BYTES: String(2 * 1024 * 1024),
    ...opts.env,
  });
  const inference = opts.sharedInference ? await createInferenceClient(config) : undefined;
  const start = async () => runBot(config, { handleSignals: false, database: opts.database, inference });
  let running = await start();
  const h: Harness = {
    standIn,
    config,
    get running() {
      return running;
    },
    feedback: new FeedbackService(opts.database),
    database: opts.database,
    modelsDir: models.dir,
    async stopBot() {
      await running.bot.stop(5_000);
    },
    async restartBot() {
      await running.bot.stop(5_000);
      running = await start();
    },
    async dispose() {
      await running.bot.stop(5_000).catch(() => undefined);
      if (inference) {
        await new Promise((r) => setTimeout(r, opts.sharedInference!.closeDelayMs));
        await inference.close();
      }
      await standIn.stop();
      models.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
