/**
 * Routes every interaction: commands by name, components and modals by custom_id prefix. Typed
 * failures become the friendly ephemeral message; anything else is logged as a bug and gets a
 * generic apology. Nothing thrown here escapes to the client.
 */
import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import { isAppError } from '../../errors.ts';
import type { BotContext } from '../bot.context.ts';
import { BotError } from '../bot.errors.ts';
import type { Command } from '../commands/index.ts';
import { friendlyMessage } from '../error-messages.ts';
import { CustomId } from '../reply.render.ts';
import { onForgetButton } from './forget.handler.ts';
import { onReportButton, onReportNote, onReportSelect } from './report.handler.ts';
import { onVariationButton } from './variation.handler.ts';

export async function routeInteraction(ctx: BotContext, commands: Map<string, Command>, interaction: Interaction): Promise<void> {
  try {
    if (interaction.isChatInputCommand() || interaction.isContextMenuCommand()) {
      const command = commands.get(interaction.commandName);
      if (!command) throw new BotError('UNKNOWN_COMMAND', `unknown command ${interaction.commandName}`, { name: interaction.commandName });
      await command.execute(interaction, ctx);
      return;
    }
    if (interaction.isButton()) {
      const prefix = interaction.customId.split(':')[0];
      if (prefix === CustomId.report) return await onReportButton(ctx, interaction);
      if (prefix === CustomId.variation) return await onVariationButton(ctx, interaction);
      if (prefix === CustomId.forgetConfirm || prefix === CustomId.forgetCancel) return await onForgetButton(ctx, interaction);
    } else if (interaction.isStringSelectMenu()) {
      if (interaction.customId.startsWith(`${CustomId.reportSelect}:`)) return await onReportSelect(ctx, interaction);
    } else if (interaction.isModalSubmit()) {
      if (interaction.customId.startsWith(`${CustomId.reportNote}:`)) return await onReportNote(ctx, interaction);
    } else {
      return; // autocomplete and others: not used
    }
    throw new BotError('UNKNOWN_COMMAND', `no handler for component ${'customId' in interaction ? interaction.customId : '?'}`);
  } catch (err) {
    if (isAppError(err)) ctx.log.info({ code: err.code, interaction: interaction.id }, 'interaction refused');
    else ctx.log.error({ err, interaction: interaction.id }, 'interaction failed');
    if (interaction.isRepliable()) await answerError(ctx, interaction, err);
  }
}

async function answerError(ctx: BotContext, interaction: RepliableInteraction, err: unknown): Promise<void> {
  const content = friendlyMessage(err, ctx.limits);
  try {
    if (interaction.deferred && !interaction.replied) {
      // a deferred reply may be public: take it away and tell only the member
      await interaction.deleteReply().catch(() => undefined);
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    } else if (interaction.replied) await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
  } catch (e) {
    ctx.log.warn({ err: e }, 'could not send the error message');
  }
}
