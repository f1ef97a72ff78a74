/**
 * Registers the slash and context-menu commands with Discord: in one guild (instant, for testing) or
 * globally. The bot never registers at start-up; run `webtoon register-commands` after changing them.
 */
import { REST, Routes, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import type { Config } from '../config.ts';
import { commandDefinitions } from './command.loader.ts';
import { requireDiscordCredentials } from './main.ts';

export interface RegisterResult {
  scope: 'global' | 'guild';
  guildId: string | null;
  names: string[];
}

/**
 * PUT the command definitions (replacing the previous set).
 * @param guildId - register in this guild only; default the configured DISCORD_GUILD_ID, else global
 */
export async function registerCommands(cfg: Pick<Config, 'DISCORD_TOKEN' | 'DISCORD_APPLICATION_ID' | 'DISCORD_API_URL' | 'DISCORD_GUILD_ID'>, guildId?: string): Promise<RegisterResult> {
  requireDiscordCredentials(cfg, { what: 'cannot register the commands', example: 'npx webtoon register-commands --guild <server id>' });
  const guild = guildId ?? cfg.DISCORD_GUILD_ID ?? null;
  const body = await commandDefinitions(guild ? 'guild' : 'global');
  const rest = new REST({ api: cfg.DISCORD_API_URL }).setToken(cfg.DISCORD_TOKEN);
  const route = guild ? Routes.applicationGuildCommands(cfg.DISCORD_APPLICATION_ID, guild) : Routes.applicationCommands(cfg.DISCORD_APPLICATION_ID);
  const result = (await rest.put(route, { body })) as RESTPutAPIApplicationCommandsResult;
  return { scope: guild ? 'guild' : 'global', guildId: guild, names: result.map((c) => c.name) };
}
