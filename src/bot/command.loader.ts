/**
 * Loads every `*.command.ts` module in `./commands/`, keeps the ones that pass {@link isCommand}, and
 * returns them keyed by command name. A module that fails the check is an error, not a silent skip.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationIntegrationType, InteractionContextType, type RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import { isCommand, type Command } from './commands/index.ts';

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands');

/** Every command, keyed by its registered name. */
export async function loadCommands(dir = commandsDir): Promise<Map<string, Command>> {
  const files = readdirSync(dir)
    .filter((f) => /\.command\.(ts|js|mjs)$/.test(f))
    .sort();
  const commands = new Map<string, Command>();
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { default?: unknown };
    if (!isCommand(mod.default)) throw new Error(`src/bot/commands/${file} must default-export { data, execute } (a Command)`);
    const name = mod.default.data.name;
    if (commands.has(name)) throw new Error(`command ${name} is defined twice (second time in ${file})`);
    commands.set(name, mod.default);
  }
  return commands;
}

/** Installable to a server and to a member's account (user-installed: usable where the bot was not added). */
export const INTEGRATION_TYPES = [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall];
/** Usable in servers, in the member's DM with the bot, and in other DMs and group DMs. */
export const CONTEXTS = [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel];

/**
 * The JSON bodies to register with Discord (what `webtoon register-commands` sends). Global commands
 * carry `integration_types` and `contexts` (a command's own values win); Discord reads them only for
 * global commands, so guild registrations stay as the builders made them.
 */
export async function commandDefinitions(scope: 'global' | 'guild' = 'global'): Promise<RESTPostAPIApplicationCommandsJSONBody[]> {
  return [...(await loadCommands()).values()].map((c) => {
    const json = c.data.toJSON();
    if (scope === 'guild') return json;
    // the builders emit these keys as undefined when unset, so fill them explicitly
    return { ...json, integration_types: json.integration_types ?? INTEGRATION_TYPES, contexts: json.contexts ?? CONTEXTS };
  });
}
