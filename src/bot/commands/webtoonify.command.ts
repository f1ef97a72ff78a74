import { handleTranslation, declaredOf, readTranslationOptions } from '../translation.service.ts';
import { translationCommand, type Command } from './index.ts';

/** /webtoonify image:<attachment> — real face → webtoon face. */
export default {
  data: translationCommand('webtoonify', 'Turn a selfie into a Korean-webtoon face', 'A photo with a face (PNG, JPEG or WebP)'),
  async execute(interaction, ctx) {
    const a = interaction.isChatInputCommand() ? interaction.options.getAttachment('image') : null;
    await handleTranslation(ctx, interaction, a ? declaredOf(a) : null, readTranslationOptions(interaction, 'a2b'));
  },
} satisfies Command;
