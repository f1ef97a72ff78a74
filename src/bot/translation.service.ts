/**
 * The flow of one translation (/webtoonify, /reverse, the "Webtoonify" message command):
 * check the attachment's declared facts → rate limit → defer (ephemeral when private) → download from
 * an allowed host → enqueue, showing the queue position → reply with the image, an embed and a
 * "Report a problem" button, plus 👍/👎 reactions → record the outcome as a generation (never the image).
 */
import { createHash } from 'node:crypto';
import { AttachmentBuilder, MessageFlags, Routes, type Attachment, type CommandInteraction } from 'discord.js';
import { isAppError } from '../errors.ts';
import type { BotContext } from './bot.context.ts';
import { BotError } from './bot.errors.ts';
import { checkDeclaredAttachment, type DeclaredAttachment } from './attachment.validation.ts';
import { downloadAttachment } from './download.adapter.ts';
import { errorCodeOf, friendlyMessage } from './error-messages.ts';
import { RESULT_FILE_NAME, VOTE_EMOJI, resultComponents, resultEmbed } from './reply.render.ts';
import type { Direction } from '../shared/direction.ts';

export interface TranslationRequest {
  direction: Direction;
  attention: boolean;
  sideBySide: boolean;
  faces: 'one' | 'all';
  crop: 'auto' | 'center';
  private: boolean;
}

/** Failures the operator must act on (logged as errors; members are told the operator knows). */
const OPERATOR_CODES = new Set(['MODEL_UNAVAILABLE', 'INVALID_MODEL', 'WORKER_CRASHED']);

/** Minimum time between two queue-position edits of the deferred reply. */
export const PROGRESS_EDIT_INTERVAL_MS = 1500;

/** The declared facts of a discord.js attachment. */
export function declaredOf(a: Attachment): DeclaredAttachment {
  return { url: a.url, name: a.name, contentType: a.contentType, size: a.size, width: a.width, height: a.height };
}

/** Read the translation options shared by /webtoonify and /reverse. */
export function readTranslationOptions(interaction: CommandInteraction, direction: Direction): TranslationRequest {
  const o = interaction.isChatInputCommand() ? interaction.options : null;
  const faces = o?.getString('faces');
  const crop = o?.getString('crop');
  return {
    direction,
    attention: o?.getBoolean('attention') ?? false,
    sideBySide: o?.getBoolean('side_by_side') ?? false,
    faces: faces === 'all' ? 'all' : 'one',
    crop: crop === 'center' ? 'center' : 'auto',
    private: o?.getBoolean('private') ?? false,
  };
}

/** Reply ephemerally with the friendly message for `err` (answering or following up as needed). */
export async function replyWithError(ctx: BotContext, interaction: CommandInteraction, err: unknown): Promise<void> {
  const content = friendlyMessage(err, ctx.limits);
  if (interaction.deferred || interaction.replied) await interaction.editReply({ content, embeds: [], components: [], files: [] });
  else await interaction.reply({ content, flags: MessageFlags.Ephemeral });
}

/** Serialises edits of the deferred reply and throttles queue-position updates. */
class ReplyEditor {
  private chain: Promise<unknown> = Promise.resolve();
  private lastProgressAt = 0;
  private pendingPosition: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly interaction: CommandInteraction,
    private readonly onError: (err: unknown) => void,
  ) {}

  progress(position: number): void {
    if (this.finished || position <= 0) return;
    this.pendingPosition = position;
    const wait = this.lastProgressAt + PROGRESS_EDIT_INTERVAL_MS - Date.now();
    if (wait <= 0) this.flushProgress();
    else this.timer ??= setTimeout(() => this.flushProgress(), wait);
  }

  private flushProgress(): void {
    this.timer = undefined;
    if (this.finished || this.pendingPosition === null) return;
    const position = this.pendingPosition;
    this.pendingPosition = null;
    this.lastProgressAt = Date.now();
    this.enqueue(() => this.interaction.editReply({ content: `⏳ In the queue — position ${position}. I'll update this message when it's ready.` }));
  }

  /** The last edit: cancels pending progress and waits for earlier edits. */
  async final<T>(edit: () => Promise<T>): Promise<T> {
    this.finished = true;
    clearTimeout(this.timer);
    await this.chain;
    return edit();
  }

  private enqueue(edit: () => Promise<unknown>): void {
    this.chain = this.chain.then(edit).catch(this.onError);
  }
}

/**
 * Run the whole flow for one request. Never throws: every outcome ends as a message the member sees.
 * @param attachment - the declared facts, or null when the member gave no image
 */
export async function handleTranslation(ctx: BotContext, interaction: CommandInteraction, attachment: DeclaredAttachment | null, req: TranslationRequest): Promise<void> {
  const log = ctx.log.child({ interaction: interaction.id, user: interaction.user.id, direction: req.direction });
  // 1. refusals that need no download, answered ephemerally and at once
  try {
    if (!ctx.jobs.accepting) throw new BotError('SHUTTING_DOWN', 'the bot is shutting down');
    if (!attachment) throw new BotError('NO_IMAGE', 'no image attached');
    checkDeclaredAttachment(attachment, { maxBytes: ctx.config.MAX_IMAGE_BYTES, maxPixels: ctx.config.MAX_IMAGE_PIXELS, minSide: ctx.config.MIN_FACE_PX });
    ctx.rateLimiter.take(interaction.user.id, interaction.guildId);
  } catch (err) {
    log.info({ code: errorCodeOf(err) }, 'translation refused before download');
    await replyWithError(ctx, interaction, err);
    // every outcome is a generation row (no image hash: nothing was downloaded); not while shutting down
    if (!(err instanceof BotError && err.code === 'SHUTTING_DOWN')) await recordFailure(ctx, interaction, req.direction, err, null, 0, log);
    return;
  }
  // 2. acknowledge within Discord's 3 seconds; tracked from here so shutdown waits for it
  await ctx.jobs.run(async () => {
    await interaction.deferReply(req.private ? { flags: MessageFlags.Ephemeral } : {});
    await translateAndReply(ctx, interaction, attachment, req, log);
  });
}

async function translateAndReply(
  ctx: BotContext,
  interaction: CommandInteraction,
  attachment: DeclaredAttachment,
  req: TranslationRequest,
  log: BotContext['log'],
): Promise<void> {
  const started = Date.now();
  const editor = new ReplyEditor(interaction, (err) => log.warn({ err }, 'progress edit failed'));
  let input: Buffer | null = null;
  try {
    input = await downloadAttachment(attachment.url, {
      allowedHosts: ctx.config.DISCORD_ATTACHMENT_HOSTS,
      maxBytes: ctx.config.MAX_IMAGE_BYTES,
      timeoutMs: ctx.config.DOWNLOAD_TIMEOUT_MS,
      signal: ctx.jobs.signal,
    });
    const result = await ctx.inference.translate(input, {
      direction: req.direction,
      attention: req.attention,
      sideBySide: req.sideBySide,
      faces: req.faces,
      crop: req.crop,
      signal: ctx.jobs.signal,
      onQueuePosition: (p) => editor.progress(p),
    });
    const elapsedMs = Date.now() - started;
    const generation = await recordGeneration(ctx, interaction, req.direction, {
      modelVersion: result.modelVersion,
      inputSha256: result.inputSha256,
      facesFound: result.facesFound,
      latencyMs: elapsedMs,
      status: 'ok',
    }, log);
    const message = await editor.final(() =>
      interaction.editReply({
        content: '',
        embeds: [resultEmbed({ direction: req.direction, modelVersion: result.modelVersion, facesFound: result.facesFound, cropMode: result.cropMode, elapsedMs })],
        files: [new AttachmentBuilder(result.png, { name: RESULT_FILE_NAME })],
        components: generation ? resultComponents(generation.id) : [],
      }),
    );
    if (generation) {
      await ctx.feedback.attachMessage(generation.id, message.id).catch((err: unknown) => log.error({ err }, 'could not attach the reply to its generation'));
    }
    if (!req.private && interaction.channelId) {
      for (const emoji of [VOTE_EMOJI.up, VOTE_EMOJI.down]) {
        await ctx.client.rest
          .put(Routes.channelMessageOwnReaction(interaction.channelId, message.id, encodeURIComponent(emoji)))
          .catch((err: unknown) => log.warn({ err }, 'could not add the voting reactions'));
      }
    }
    log.info({ generation: generation?.id, elapsedMs, faces: result.facesFound }, 'translation done');
  } catch (err) {
    if (!isAppError(err)) log.error({ err }, 'translation failed unexpectedly');
    else if (OPERATOR_CODES.has(err.code)) log.error({ code: err.code, details: err.details }, `translation failed: ${err.message}`);
    else log.info({ code: err.code }, 'translation failed');
    await recordFailure(ctx, interaction, req.direction, err, input, Date.now() - started, log);
    const content = friendlyMessage(err, ctx.limits);
    await editor
      .final(() => interaction.editReply({ content, embeds: [], components: [], files: [] }))
      .catch((e: unknown) => log.warn({ err: e }, 'could not edit the reply with the failure'));
  }
}

/** Record a failed request: the image's hash when it was downloaded, else null. */
async function recordFailure(
  ctx: BotContext,
  interaction: CommandInteraction,
  direction: Direction,
  err: unknown,
  input: Buffer | null,
  latencyMs: number,
  log: BotContext['log'],
): Promise<void> {
  const modelVersion = await ctx.inference
    .modelVersions()
    .then((v) => v[direction] ?? 'none')
    .catch(() => 'unknown');
  await recordGeneration(ctx, interaction, direction, {
    modelVersion,
    inputSha256: input ? createHash('sha256').update(input).digest('hex') : null,
    facesFound: 0,
    latencyMs,
    status: 'failed',
    errorCode: errorCodeOf(err),
  }, log);
}

async function recordGeneration(
  ctx: BotContext,
  interaction: CommandInteraction,
  direction: Direction,
  outcome: { modelVersion: string; inputSha256: string | null; facesFound: number; latencyMs: number; status: 'ok' | 'failed'; errorCode?: string },
  log: BotContext['log'],
): Promise<{ id: number } | null> {
  try {
    return await ctx.feedback.recordGeneration({
      userId: interaction.user.id,
      guildId: interaction.guildId,
      channelId: interaction.channelId ?? interaction.user.id,
      interactionId: interaction.id,
      direction,
      ...outcome,
    });
  } catch (err) {
    log.error({ err }, 'could not record the generation');
    return null;
  }
}
