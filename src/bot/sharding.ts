/**
 * `webtoon bot --shards auto|N`: runs the bot under discord.js's ShardingManager, one process per
 * shard. `auto` asks the configured API's GET /gateway/bot for the recommended count (discord.js's own
 * helper would always ask discord.com).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REST, Routes, ShardingManager, type RESTGetAPIGatewayBotResult } from 'discord.js';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { moduleLogger } from '../logger.ts';
import { preflight, requireDiscordCredentials } from './main.ts';

const log = moduleLogger('bot.sharding');
const SHARD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'shard.entry.ts');

/** Parse the --shards value. @throws {ConfigError} for anything but `auto` or a positive integer */
export function parseShards(value: string | number): 'auto' | number {
  if (value === 'auto') return 'auto';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError('CONFIG_INVALID', `--shards: expected auto or a positive integer, received ${JSON.stringify(value)}`);
  return n;
}

/** The shard count to use: N as given, or the API's recommendation for `auto`. */
export async function resolveShardCount(cfg: Pick<Config, 'DISCORD_API_URL' | 'DISCORD_TOKEN'>, shards: 'auto' | number): Promise<number> {
  if (shards !== 'auto') return shards;
  const rest = new REST({ api: cfg.DISCORD_API_URL }).setToken(cfg.DISCORD_TOKEN ?? '');
  const info = (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
  return Math.max(1, info.shards);
}

export interface RunningShards {
  manager: ShardingManager;
  totalShards: number;
  /** Stop every shard (SIGTERM, each shuts down gracefully) and wait for them to exit. */
  stop(): Promise<void>;
  stopped: Promise<void>;
}

/**
 * Spawn the shards and wait until each is ready.
 * @throws {ConfigError} when credentials are missing, or several shards would share one PGlite directory
 */
export async function runShards(cfg: Config, shards: 'auto' | number, opts: { handleSignals?: boolean; readyTimeoutMs?: number } = {}): Promise<RunningShards> {
  requireDiscordCredentials(cfg);
  const refuseSharedPglite = (totalShards: number) => {
    if (totalShards > 1 && !cfg.DATABASE_URL) {
      throw new ConfigError(
        'CONFIG_MISSING',
        `${totalShards} shards cannot share the embedded PGlite database (one process only). Set DATABASE_URL to a Postgres database, or run with --shards 1.`,
        { totalShards },
      );
    }
  };
  if (shards !== 'auto') refuseSharedPglite(shards);
  await preflight(cfg);
  const totalShards = await resolveShardCount(cfg, shards);
  refuseSharedPglite(totalShards);
  const manager = new ShardingManager(SHARD_ENTRY, { totalShards, token: cfg.DISCORD_TOKEN, mode: 'process', execArgv: ['--import', 'tsx'], respawn: true });
  manager.on('shardCreate', (shard) => log.info({ shard: shard.id, totalShards }, 'shard spawned'));
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      manager.respawn = false;
      await Promise.all(
        [...manager.shards.values()].map(async (shard) => {
          const child = shard.process;
          if (!child || child.exitCode !== null) return;
          const exited = new Promise<void>((r) => child.once('exit', () => r()));
          child.kill('SIGTERM');
          await exited;
        }),
      );
      resolveStopped();
    })();
    return stopping;
  };
  if (opts.handleSignals ?? true) {
    process.once('SIGINT', () => void stop());
    process.once('SIGTERM', () => void stop());
  }
  await manager.spawn({ amount: totalShards, timeout: opts.readyTimeoutMs ?? 120_000 });
  log.info({ totalShards }, 'all shards ready');
  return { manager, totalShards, stop, stopped };
}
