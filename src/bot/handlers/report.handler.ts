/**
 * "Report a problem": the button opens an ephemeral multi-select of the attribute vocabulary; picking
 * attributes stores the report at once and opens a modal for an optional note (≤ 500 characters),
 * which updates the same report. Anyone who can see the result may report it (one report set per
 * member and generation; repeats are idempotent and a new note replaces the old one).
 */
import { MessageFlags, type ButtonInteraction, type ModalSubmitInteraction, type StringSelectMenuInteraction } from 'discord.js';
import { isAttributeId, type AttributeId } from '../../shared/attributes.ts';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import { CustomId, attributeLabels, reportMenu, reportNoteModal } from '../reply.render.ts';

function generationIdOf(customId: string): number {
  const id = Number(customId.split(':')[1]);
  if (!Number.isSafeInteger(id) || id <= 0) throw new BotError('UNKNOWN_GENERATION', `bad custom id ${customId}`, { customId });
  return id;
}

async function requireGeneration(ctx: BotContext, id: number): Promise<void> {
  if (!(await ctx.feedback.findGeneration(id))) throw new BotError('UNKNOWN_GENERATION', `no generation ${id}`, { generationId: id });
}

/** Button `report:<generationId>` → ephemeral attribute menu. */
export async function onReportButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const id = generationIdOf(interaction.customId);
  await requireGeneration(ctx, id);
  await interaction.reply({ ...reportMenu(id), flags: MessageFlags.Ephemeral });
}

/**
 * Select `report-select:<generationId>` → store the attributes, then open the note modal. Reports over
 * the member's limit (RATE_LIMIT_REPORTS_PER_MIN) are refused with RATE_LIMITED and not stored.
 */
export async function onReportSelect(ctx: BotContext, interaction: StringSelectMenuInteraction): Promise<void> {
  const id = generationIdOf(interaction.customId);
  await ctx.rateLimits.take('report', interaction.user.id, interaction.guildId);
  const attributes = interaction.values.filter(isAttributeId) as AttributeId[];
  await ctx.feedback.report(id, interaction.user.id, attributes);
  await interaction.showModal(reportNoteModal(id));
}

/** Modal `report-note:<generationId>` → the note goes with every attribute the member reported on it. */
export async function onReportNote(ctx: BotContext, interaction: ModalSubmitInteraction): Promise<void> {
  const id = generationIdOf(interaction.customId);
  const attributes = (await ctx.feedback.reportsOf(id, interaction.user.id)).map((r) => r.attribute);
  const note = interaction.fields.getTextInputValue(CustomId.noteInput).trim();
  // no attributes (e.g. erased with /forget-me meanwhile): the store refuses with NO_ATTRIBUTE
  await ctx.feedback.report(id, interaction.user.id, attributes, note || null);
  const content = `Thanks — reported: ${attributeLabels(attributes)}${note ? ' (with your note)' : ''}. This helps us rebalance the training data.`;
  if (interaction.isFromMessage()) await interaction.update({ content, components: [] });
  else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
}
