import type { Command } from 'commander';

/** `webtoon bot [--shards auto|N]` — run the Discord bot (what `npm start` runs). */
export default function register(program: Command): void {
  program
    .command('bot')
    .description('Run the Discord bot (needs DISCORD_TOKEN and DISCORD_APPLICATION_ID; see docs/bot.md)')
    .option('--shards [auto|N]', 'run under discord.js sharding: auto (the API recommends a count) or a number of shards (no value: BOT_SHARDS)')
    .action(async (opts: { shards?: string | true }) => {
      const { config } = await import('../../config.ts');
      const cfg = config();
      if (opts.shards !== undefined) {
        const { parseShards, runShards } = await import('../../bot/sharding.ts');
        const running = await runShards(cfg, parseShards(opts.shards === true ? cfg.BOT_SHARDS : opts.shards));
        await running.stopped;
        return;
      }
      const { runBot } = await import('../../bot/main.ts');
      const { stopped } = await runBot(cfg);
      await stopped;
    });
}
