/**
 * The script each shard process runs under `webtoon bot --shards` (discord.js ShardingManager passes
 * SHARDS/SHARD_COUNT in the environment; the client picks them up).
 */
import { config } from '../config.ts';
import { isAppError } from '../errors.ts';
import { runBot } from './main.ts';

try {
  const { stopped } = await runBot(config());
  await stopped;
  process.exit(process.exitCode ?? 0);
} catch (err) {
  process.stderr.write(`webtoon bot (shard): ${isAppError(err) ? `${err.name}: ${err.message}` : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
}
