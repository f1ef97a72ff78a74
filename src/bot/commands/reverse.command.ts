import { handleTranslation, declaredOf, readTranslationOptions } from '../translation.service.ts';
import { translationCommand, type Command } from './index.ts';

/** /reverse image:<attachment> — webtoon face → real face. */
export default {
  data: translationCommand('reverse', 'Turn a webtoon face back into a realistic face', 'A drawn webtoon face (PNG, JPEG or WebP)'),
  async execute(interaction, ctx) {
    const a = interaction.isChatInputCommand() ? interaction.options.getAttachment('image') : null;
    await handleTranslation(ctx, interaction, a ? declaredOf(a) : null, readTranslationOptions(interaction, 'b2a'));
  },
} satisfies Command;
