import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';

/** `webtoon register-commands [--guild id]` — register the bot's commands with Discord. */
export default function register(program: Command): void {
  program
    .command('register-commands')
    .description('Register the slash and context-menu commands (globally, or in one guild with --guild for instant updates)')
    .option('--guild <id>', 'register in this guild only (default: DISCORD_GUILD_ID, else global)')
    .action(async (opts: { guild?: string }) => {
      if (opts.guild !== undefined && !/^\d{15,25}$/.test(opts.guild)) {
        throw new UsageError(`--guild: expected a Discord guild id (digits), received ${JSON.stringify(opts.guild)}`);
      }
      const { config } = await import('../../config.ts');
      const { registerCommands } = await import('../../bot/register-commands.ts');
      const r = await registerCommands(config(), opts.guild);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.stderr.write(
        `registered ${r.names.length} commands ${r.scope === 'guild' ? `in guild ${r.guildId}` : 'globally (may take up to an hour to appear)'}: ${r.names.join(', ')}\n`,
      );
    });
}
