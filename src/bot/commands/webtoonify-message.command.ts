import { ApplicationCommandType, ContextMenuCommandBuilder, type Attachment } from 'discord.js';
import { handleTranslation, declaredOf, readTranslationOptions } from '../translation.service.ts';
import type { Command } from './index.ts';

const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|tiff?|heic|avif)$/i;

/** The first attachment of a message that is an image (by declared type, else by file name). */
export function firstImage(attachments: Iterable<Attachment>): Attachment | null {
  for (const a of attachments) {
    if (a.contentType ? a.contentType.startsWith('image/') : IMAGE_NAME.test(a.name)) return a;
  }
  return null;
}

/** Message context menu "Webtoonify": translates the first image of the message it is used on. */
export default {
  data: new ContextMenuCommandBuilder().setName('Webtoonify').setType(ApplicationCommandType.Message),
  async execute(interaction, ctx) {
    const image = interaction.isMessageContextMenuCommand() ? firstImage(interaction.targetMessage.attachments.values()) : null;
    await handleTranslation(ctx, interaction, image ? declaredOf(image) : null, readTranslationOptions(interaction, 'a2b'));
  },
} satisfies Command;
