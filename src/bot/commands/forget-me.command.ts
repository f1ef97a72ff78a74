import { MessageFlags, SlashCommandBuilder } from 'discord.js';
import { forgetPrompt } from '../reply.render.ts';
import type { Command } from './index.ts';

/** /forget-me — asks for an explicit confirmation; the buttons are handled in handlers/forget.handler.ts. */
export default {
  data: new SlashCommandBuilder().setName('forget-me').setDescription('Erase your ratings and reports and anonymise your translations'),
  async execute(interaction) {
    await interaction.reply({ ...forgetPrompt(interaction.user.id), flags: MessageFlags.Ephemeral });
  },
} satisfies Command;
