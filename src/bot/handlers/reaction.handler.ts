/**
 * 👍/👎 reactions on the bot's result messages are votes: one per member per generation, switching
 * changes it, removing the reaction removes it (only if it is still the current vote). The bot's own
 * reactions and every other emoji are ignored. Works on uncached messages (partials) and after a
 * restart: the message id finds the generation in the database; nothing needs fetching. Votes over the
 * member's limit (RATE_LIMIT_VOTES_PER_MIN) are not recorded, silently: a reaction has nothing to reply to.
 */
import type { MessageReaction, PartialMessageReaction, PartialUser, User } from 'discord.js';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import { VOTE_EMOJI } from '../reply.render.ts';

export type VoteAction = 'add' | 'remove';

/** The vote an emoji stands for, or null. */
export function voteOfEmoji(name: string | null | undefined): 'up' | 'down' | null {
  if (name === VOTE_EMOJI.up) return 'up';
  if (name === VOTE_EMOJI.down) return 'down';
  return null;
}

/**
 * Apply one reaction event. Returns what happened, for logs and tests.
 */
export async function handleReaction(
  ctx: BotContext,
  reaction: MessageReaction | PartialMessageReaction,
  user: User | PartialUser,
  action: VoteAction,
): Promise<'ignored' | 'voted' | 'removed' | 'unchanged' | 'limited'> {
  if (user.id === ctx.client.user?.id || user.bot) return 'ignored';
  const value = voteOfEmoji(reaction.emoji.name);
  if (!value || reaction.emoji.id) return 'ignored';
  const generation = await ctx.feedback.findGenerationByMessageId(reaction.message.id);
  if (!generation) return 'ignored';
  try {
    await ctx.rateLimits.take('vote', user.id, null);
  } catch (err) {
    if (err instanceof BotError && err.code === 'RATE_LIMITED') return 'limited';
    throw err;
  }
  if (action === 'add') {
    await ctx.feedback.vote(generation.id, user.id, value);
    return 'voted';
  }
  return (await ctx.feedback.removeVote(generation.id, user.id, value)) ? 'removed' : 'unchanged';
}
