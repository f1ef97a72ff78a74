/**
 * Loads every `*.command.ts` module in `./commands/`, keeps the ones that pass {@link isCommand}, and
 * returns them keyed by command name. A module that fails the check is an error, not a silent skip.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
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

/** The JSON bodies to register with Discord (what `webtoon register-commands` sends). */
export async function commandDefinitions(): Promise<RESTPostAPIApplicationCommandsJSONBody[]> {
  return [...(await loadCommands()).values()].map((c) => c.data.toJSON());
}
