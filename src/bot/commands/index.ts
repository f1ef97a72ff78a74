/**
 * The shape of a command module: each file in this folder (except this one) default-exports
 * `{ data, execute } satisfies Command`. {@link isCommand} is the runtime check the loader applies.
 */
import type { CommandInteraction, RESTPostAPIApplicationCommandsJSONBody, SlashCommandOptionsOnlyBuilder } from 'discord.js';
import { SlashCommandBuilder } from 'discord.js';
import type { BotContext } from '../bot.context.ts';

export interface Command {
  /** A builder (slash or context-menu command); `toJSON()` is what gets registered. */
  data: { name: string; toJSON(): RESTPostAPIApplicationCommandsJSONBody };
  execute(interaction: CommandInteraction, ctx: BotContext): Promise<void>;
}

/** True when `value` looks like a {@link Command}. */
export function isCommand(value: unknown): value is Command {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Command>;
  return (
    typeof v.execute === 'function' &&
    typeof v.data === 'object' &&
    v.data !== null &&
    typeof v.data.name === 'string' &&
    typeof (v.data as { toJSON?: unknown }).toJSON === 'function'
  );
}

/** The options /webtoonify and /reverse share. */
export function translationCommand(name: string, description: string, imageHelp: string): SlashCommandOptionsOnlyBuilder {
  return new SlashCommandBuilder()
    .setName(name)
    .setDescription(description)
    .addAttachmentOption((o) => o.setName('image').setDescription(imageHelp).setRequired(true))
    .addStringOption((o) =>
      o
        .setName('output')
        .setDescription('face (default), your whole photo with the face blended back, or before/after side by side')
        .addChoices({ name: 'face', value: 'face' }, { name: 'photo', value: 'photo' }, { name: 'side by side', value: 'side_by_side' }),
    )
    .addBooleanOption((o) => o.setName('attention').setDescription('Overlay where the model looked (attention heatmap)'))
    .addBooleanOption((o) => o.setName('side_by_side').setDescription('Same as output: side by side (kept for older habits)'))
    .addStringOption((o) =>
      o
        .setName('faces')
        .setDescription('Translate the largest face (default) or every face')
        .addChoices({ name: 'one', value: 'one' }, { name: 'all', value: 'all' }),
    )
    .addStringOption((o) =>
      o
        .setName('crop')
        .setDescription('auto: find faces (default); center: use the centre square when no face is found')
        .addChoices({ name: 'auto', value: 'auto' }, { name: 'center', value: 'center' }),
    )
    .addBooleanOption((o) => o.setName('private').setDescription('Only you see the result (no reactions)'));
}
