import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AttachmentBuilder, EmbedBuilder, MessageFlags, SlashCommandBuilder } from 'discord.js';
import { helpEmbed, OUTPUT_LABEL } from '../reply.render.ts';
import type { Command } from './index.ts';

/** One picture per output mode (made by `npm run docs:pictures`, also shown in README and docs/bot.md). */
export const OUTPUT_PICTURES = [
  { mode: 'face', file: 'output-face.jpg', text: '`output: face` — the translated face' },
  { mode: 'photo', file: 'output-photo.jpg', text: '`output: photo` — your whole photo, the face blended back where it was' },
  { mode: 'side_by_side', file: 'output-side-by-side.jpg', text: '`output: side_by_side` — your face and the result' },
] as const;

/** The pictures that exist, as attachments and the embeds that show them (none when the files are missing). */
export function outputPictures(): { files: AttachmentBuilder[]; embeds: EmbedBuilder[] } {
  const files: AttachmentBuilder[] = [];
  const embeds: EmbedBuilder[] = [];
  for (const p of OUTPUT_PICTURES) {
    const file = fileURLToPath(new URL(`../../../docs/images/${p.file}`, import.meta.url));
    if (!existsSync(file)) continue;
    files.push(new AttachmentBuilder(readFileSync(file), { name: p.file }));
    embeds.push(new EmbedBuilder().setTitle(OUTPUT_LABEL[p.mode]).setDescription(p.text).setColor(0xff7eb6).setImage(`attachment://${p.file}`));
  }
  return { files, embeds };
}

/** /webtoon-help — what the bot does, its limits, how ratings are used, the privacy note, and a picture of each output mode. */
export default {
  data: new SlashCommandBuilder().setName('webtoon-help').setDescription('What this bot does, its limits, and how your data is used'),
  async execute(interaction, ctx) {
    const c = ctx.config;
    const pictures = outputPictures();
    await interaction.reply({
      embeds: [helpEmbed({ maxBytes: c.MAX_IMAGE_BYTES, maxPixels: c.MAX_IMAGE_PIXELS, userPerMinute: c.RATE_LIMIT_USER_PER_MIN, guildPerMinute: c.RATE_LIMIT_GUILD_PER_MIN }), ...pictures.embeds],
      files: pictures.files,
      flags: MessageFlags.Ephemeral,
    });
  },
} satisfies Command;
