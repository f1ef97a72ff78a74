/**
 * What members see: the result embed and buttons, the report menu and note modal, the /forget-me
 * confirmation, the help text. Pure functions from data to discord.js payloads; no I/O.
 */
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  LabelBuilder,
  ModalBuilder,
  StringSelectMenuBuilder,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { ATTRIBUTES } from '../shared/attributes.ts';
import type { Direction } from '../shared/direction.ts';


/** Reactions members vote with. */
export const VOTE_EMOJI = { up: '👍', down: '👎' } as const;
export const RESULT_FILE_NAME = 'webtoonfaces.png';
export const NOTE_MAX_CHARS = 500;

/** custom_id prefixes; ids after the colon. Kept short: Discord allows 100 characters. */
export const CustomId = {
  report: 'report',
  reportSelect: 'report-select',
  reportNote: 'report-note',
  noteInput: 'note',
  forgetConfirm: 'forget-confirm',
  forgetCancel: 'forget-cancel',
} as const;

export const DIRECTION_LABEL: Record<Direction, string> = { a2b: 'photo → webtoon', b2a: 'webtoon → photo' };

export interface ResultFacts {
  direction: Direction;
  modelVersion: string;
  facesFound: number;
  cropMode: 'face' | 'center';
  elapsedMs: number;
}

/** The compact embed under a result: direction, model version, faces, time. */
export function resultEmbed(f: ResultFacts): EmbedBuilder {
  const faces = f.cropMode === 'center' && f.facesFound === 0 ? 'centre crop' : String(f.facesFound);
  return new EmbedBuilder()
    .setTitle(f.direction === 'a2b' ? 'Webtoonified' : 'Reversed')
    .setColor(f.direction === 'a2b' ? 0xff7eb6 : 0x5aa9e6)
    .addFields(
      { name: 'Direction', value: DIRECTION_LABEL[f.direction], inline: true },
      { name: 'Model', value: f.modelVersion.slice(0, 100), inline: true },
      { name: 'Faces', value: faces, inline: true },
      { name: 'Time', value: `${(f.elapsedMs / 1000).toFixed(1)} s`, inline: true },
    )
    .setImage(`attachment://${RESULT_FILE_NAME}`)
    .setFooter({ text: `Rate it with ${VOTE_EMOJI.up} / ${VOTE_EMOJI.down} · "Report a problem" if the model lost something` });
}

/** The "Report a problem" button of a generation. */
export function resultComponents(generationId: number): ActionRowBuilder<ButtonBuilder>[] {
  return [
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId(`${CustomId.report}:${generationId}`).setLabel('Report a problem').setEmoji('🚩').setStyle(ButtonStyle.Secondary),
    ),
  ];
}

/** The ephemeral multi-select of the attribute vocabulary. */
export function reportMenu(generationId: number): { content: string; components: ActionRowBuilder<StringSelectMenuBuilder>[] } {
  const menu = new StringSelectMenuBuilder()
    .setCustomId(`${CustomId.reportSelect}:${generationId}`)
    .setPlaceholder('What did the model get wrong?')
    .setMinValues(1)
    .setMaxValues(ATTRIBUTES.length)
    .addOptions(ATTRIBUTES.map((a) => ({ label: a.label, value: a.id, emoji: a.emoji })));
  return {
    content: 'What did the translation lose or get wrong? Pick everything that applies; you can add a note next.',
    components: [new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(menu)],
  };
}

/** The optional-note modal; the note goes with every attribute the member reported on the generation. */
export function reportNoteModal(generationId: number): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`${CustomId.reportNote}:${generationId}`)
    .setTitle('Add a note (optional)')
    .addLabelComponents(
      new LabelBuilder()
        .setLabel('Anything else we should know?')
        .setDescription('Optional. Your report is already saved.')
        .setTextInputComponent(
          new TextInputBuilder().setCustomId(CustomId.noteInput).setStyle(TextInputStyle.Paragraph).setRequired(false).setMaxLength(NOTE_MAX_CHARS),
        ),
    );
}

/** Labels of attribute ids, for confirmations. */
export function attributeLabels(ids: readonly string[]): string {
  return ids.map((id) => ATTRIBUTES.find((a) => a.id === id)?.label ?? id).join(', ');
}

/** /forget-me: explanation with Confirm / Cancel. */
export function forgetPrompt(userId: string): { content: string; components: ActionRowBuilder<ButtonBuilder>[] } {
  return {
    content:
      '**Forget me?** This deletes every 👍/👎 rating and problem report you made, and removes your Discord id from the ' +
      'translations you asked for (they stay only as anonymous counts). Images are never stored. This cannot be undone.',
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId(`${CustomId.forgetConfirm}:${userId}`).setLabel('Yes, forget me').setStyle(ButtonStyle.Danger),
        new ButtonBuilder().setCustomId(`${CustomId.forgetCancel}:${userId}`).setLabel('Cancel').setStyle(ButtonStyle.Secondary),
      ),
    ],
  };
}

export interface HelpFacts {
  maxBytes: number;
  maxPixels: number;
  userPerMinute: number;
  guildPerMinute: number;
}

/** /webtoon-help. */
export function helpEmbed(f: HelpFacts): EmbedBuilder {
  const mb = Math.round(f.maxBytes / (1024 * 1024));
  const limit = (n: number, who: string) => (n > 0 ? `${n} per ${who} per minute` : `unlimited per ${who}`);
  return new EmbedBuilder()
    .setTitle('WebtoonFaces')
    .setColor(0xff7eb6)
    .setDescription('I turn a selfie into a Korean-webtoon face, and a webtoon face back into a realistic one (U-GAT-IT).')
    .addFields(
      {
        name: 'Commands',
        value: [
          '`/webtoonify image:` — photo → webtoon face',
          '`/reverse image:` — webtoon face → photo',
          'Right-click a message → Apps → **Webtoonify** — uses its first image',
          'Options: `attention` (show where the model looked), `side_by_side` (before/after), `faces: one|all`, `crop: auto|center` (centre square when no face is found), `private` (only you see it)',
          '`/webtoon-stats` — community ratings and most-reported problems per model version',
          '`/forget-me` — erase your ratings and reports',
        ].join('\n'),
      },
      { name: 'Limits', value: `PNG, JPEG or WebP up to ${mb} MB and ${Math.round(f.maxPixels / 1e6)} MP; ${limit(f.userPerMinute, 'member')}, ${limit(f.guildPerMinute, 'server')}.` },
      {
        name: 'Ratings and reports',
        value:
          'React 👍 or 👎 on a result (one vote per member; switching changes it; removing the reaction removes it). ' +
          '"Report a problem" lets anyone who sees the result say which attributes were lost (gender, glasses, hands, …). ' +
          'These counts tell us which kinds of faces the training data lacks; we rebalance it and ship a new model version.',
      },
      {
        name: 'Privacy',
        value:
          'Your image is downloaded from Discord, translated in memory and never stored. We keep, per translation: your Discord id, ' +
          'the server and channel ids, a SHA-256 fingerprint of the image, the model version, the outcome and timings, plus your votes ' +
          'and reports. `/forget-me` deletes your votes and reports and removes your id from your translations.',
      },
    );
}
