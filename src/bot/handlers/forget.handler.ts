/** The /forget-me confirmation buttons: only the member who asked can press them. */
import type { ButtonInteraction } from 'discord.js';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import { CustomId } from '../reply.render.ts';

export async function onForgetButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const [prefix, userId] = interaction.customId.split(':');
  if (userId !== interaction.user.id) throw new BotError('NOT_YOURS', 'forget button pressed by another member', { owner: userId });
  if (prefix === CustomId.forgetCancel) {
    await interaction.update({ content: 'Cancelled — nothing was erased.', components: [] });
    return;
  }
  // In-flight work first: the member's running translations stop (their rows are anonymised below).
  ctx.jobs.abortOwner(interaction.user.id);
  const r = await ctx.feedback.forgetUser(interaction.user.id);
  await interaction.update({
    content:
      `Done. Deleted ${r.ratingsDeleted} rating(s) and ${r.reportsDeleted} report(s), and anonymised ${r.generationsAnonymised} translation(s). ` +
      'Results already posted stay in the channel; delete them in Discord if you wish.',
    components: [],
  });
}
