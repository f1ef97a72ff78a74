/**
 * Variation buttons under a result (`var:<generationId>:<change>`): the same picture again with
 * another output mode, attention toggled, or 512 px tiles. Only the member who asked can press them;
 * the picture is downloaded again from Discord (the link is kept in memory, see source-cache.ts) and
 * the variation runs through the same flow as a command — rate limits, queue, votes, reports — as a
 * new generation linked to the one it came from.
 */
import type { ButtonInteraction } from 'discord.js';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import { VARIATION_CHANGES, type VariationChange } from '../reply.render.ts';
import { handleTranslation, type TranslationRequest } from '../translation.service.ts';

/** The parts of a variation custom id; throws UNKNOWN_GENERATION for a malformed one. */
export function parseVariationId(customId: string): { generationId: number; change: VariationChange } {
  const [, id, change] = customId.split(':');
  const generationId = Number(id);
  if (!Number.isSafeInteger(generationId) || generationId <= 0 || !VARIATION_CHANGES.includes(change as VariationChange)) {
    throw new BotError('UNKNOWN_GENERATION', `bad variation id ${customId}`, { customId });
  }
  return { generationId, change: change as VariationChange };
}

/** The request of the variation: the original options with one change. */
export function applyChange(req: TranslationRequest, change: VariationChange, parentGenerationId: number): TranslationRequest {
  const next: TranslationRequest = { ...req, parentGenerationId };
  if (change === 'attention') next.attention = !req.attention;
  else if (change === '512') next.outputSize = 512;
  else next.output = change;
  return next;
}

export async function onVariationButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const { generationId, change } = parseVariationId(interaction.customId);
  const generation = await ctx.feedback.findGeneration(generationId);
  if (!generation) throw new BotError('UNKNOWN_GENERATION', `no generation ${generationId}`, { generationId });
  // userId is null once the member was forgotten: then nobody can press them any more
  if (generation.userId !== interaction.user.id) {
    throw new BotError('NOT_YOURS', 'variation button pressed by another member', { generationId, kind: 'variation' });
  }
  const source = ctx.sources.get(generationId);
  if (!source) throw new BotError('VARIATION_EXPIRED', `no source kept for generation ${generationId}`, { generationId });
  await handleTranslation(ctx, interaction, source.attachment, applyChange(source.request, change, generationId));
}
