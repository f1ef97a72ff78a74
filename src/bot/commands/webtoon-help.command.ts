import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import { helpEmbed } from '../reply.render.ts';
import type { Command } from './index.ts';

/** /webtoon-help — what the bot does, its limits, how ratings are used, the privacy note. */
export default {
  data: new SlashCommandBuilder().setName('webtoon-help').setDescription('What this bot does, its limits, and how your data is used'),
  async execute(interaction, ctx) {
    const c = ctx.config;
    await interaction.reply({
      embeds: [helpEmbed({ maxBytes: c.MAX_IMAGE_BYTES, maxPixels: c.MAX_IMAGE_PIXELS, userPerMinute: c.RATE_LIMIT_USER_PER_MIN, guildPerMinute: c.RATE_LIMIT_GUILD_PER_MIN })],
      flags: MessageFlags.Ephemeral,
    });
  },
} satisfies Command;
