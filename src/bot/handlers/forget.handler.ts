/**
 * The /forget-me confirmation buttons: only the member who asked can press them. Before the votes
 * are erased, the member's 👍/👎 reactions are taken off the results where the bot may do so (it
 * needs Manage Messages in that channel; in DMs and where it was only user-installed it cannot), so
 * the votes do not stay visible as theirs; the rest are named in the answer so the member can remove them.
 */
import { Routes, type ButtonInteraction } from 'discord.js';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import { CustomId, VOTE_EMOJI } from '../reply.render.ts';

export async function onForgetButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const [prefix, userId] = interaction.customId.split(':');
  if (userId !== interaction.user.id) throw new BotError('NOT_YOURS', 'forget button pressed by another member', { owner: userId });
  if (prefix === CustomId.forgetCancel) {
    await interaction.update({ content: 'Cancelled — nothing was erased.', components: [] });
    return;
  }
  await interaction.deferUpdate();
  // In-flight work first: the member's running translations stop (their rows are anonymised below).
  ctx.jobs.abortOwner(interaction.user.id);
  const votes = await ctx.feedback.votesWithMessages(interaction.user.id);
  const r = await ctx.feedback.forgetUser(interaction.user.id);
  ctx.sources.forgetUser(interaction.user.id);
  let removed = 0;
  const kept: string[] = [];
  for (const v of votes) {
    if (!v.messageId || !v.channelId) continue;
    const emoji = encodeURIComponent(v.value === 'up' ? VOTE_EMOJI.up : VOTE_EMOJI.down);
    try {
      await ctx.client.rest.delete(Routes.channelMessageUserReaction(v.channelId, v.messageId, emoji, interaction.user.id));
      removed++;
    } catch (err) {
      ctx.log.info({ err, message: v.messageId }, 'could not remove a forgotten member’s reaction');
      kept.push(`https://discord.com/channels/${interaction.guildId ?? '@me'}/${v.channelId}/${v.messageId}`);
    }
  }
  const refused = r.generationsAnonymised - r.resultsAnonymised;
  const lines = [
    `Done. Deleted ${r.ratingsDeleted} rating(s) and ${r.reportsDeleted} report(s), and anonymised ${r.resultsAnonymised} result(s)` +
      (refused > 0 ? ` and ${refused} refused attempt(s)` : '') +
      '.',
  ];
  if (removed > 0) lines.push(`I took your ${removed} 👍/👎 reaction(s) off the results, so they no longer show as yours.`);
  if (kept.length > 0) {
    lines.push(
      `${kept.length} reaction(s) I could not remove (I need the Manage Messages permission there, or it is a DM); they no longer count — remove them yourself if you wish:\n` +
        kept.slice(0, 10).join('\n') +
        (kept.length > 10 ? `\n… and ${kept.length - 10} more` : ''),
    );
  }
  lines.push('Results already posted stay in the channel; delete them in Discord if you wish.');
  await interaction.editReply({ content: lines.join('\n').slice(0, 2000), components: [] });
}
