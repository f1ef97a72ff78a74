/**
 * The flow of one translation (/webtoonify, /reverse, the "Webtoonify" message command, a variation
 * button): check the attachment's declared facts → rate limit → defer (ephemeral when private) →
 * download from an allowed host → enqueue, showing the queue position → reply with the image, an
 * embed, "Report a problem" and the variation buttons, plus 👍/👎 reactions → record the outcome as a
 * generation (never the image); a request over the rate limit writes none.
 *
 * Every refusal is private to the member. Refusals before the download are ephemeral replies. The
 * deferral's visibility is fixed when it is sent (Discord cannot turn a public "thinking…" reply
 * ephemeral later), so a refusal found after the download (unreadable file, no face, queue full, …)
 * deletes the public deferred reply and tells the member in an ephemeral follow-up. Results stay public.
 */
import { createHash } from 'node:crypto';
import { AttachmentBuilder, MessageFlags, Routes, type Attachment, type ButtonInteraction, type CommandInteraction } from 'discord.js';
import type { OutputMode } from '../inference/inference.types.ts';
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
  /** face (default), photo (the whole picture with the face blended back) or side_by_side. */
  output: OutputMode;
  faces: 'one' | 'all';
  crop: 'auto' | 'center';
  /** Side of each face tile (default 256). */
  outputSize?: 256 | 512;
  private: boolean;
  /** For a variation: the generation whose button was pressed. */
  parentGenerationId?: number;
}

/** The interactions a translation answers: slash and message commands, variation buttons. */
export type TranslationInteraction = CommandInteraction | ButtonInteraction;

/** Refusals that write no generation row. */
const NO_ROW_CODES = new Set(['SHUTTING_DOWN', 'RATE_LIMITED']);

/** Failures the operator must act on (logged as errors; members are told the operator knows). */
const OPERATOR_CODES = new Set(['MODEL_UNAVAILABLE', 'INVALID_MODEL', 'WORKER_CRASHED']);

/** Minimum time between two queue-position edits of the deferred reply. */
export const PROGRESS_EDIT_INTERVAL_MS = 1500;

/** The declared facts of a discord.js attachment. */
export function declaredOf(a: Attachment): DeclaredAttachment {
  return { url: a.url, name: a.name, contentType: a.contentType, size: a.size, width: a.width, height: a.height };
}

/** Read the translation options shared by /webtoonify and /reverse. */
export function readTranslationOptions(interaction: TranslationInteraction, direction: Direction): TranslationRequest {
  const o = interaction.isChatInputCommand() ? interaction.options : null;
  const faces = o?.getString('faces');
  const crop = o?.getString('crop');
  const output = o?.getString('output');
  return {
    direction,
    attention: o?.getBoolean('attention') ?? false,
    // `side_by_side: true` is the older spelling of `output: side_by_side`; an explicit output wins
    output: output === 'photo' || output === 'face' || output === 'side_by_side' ? output : o?.getBoolean('side_by_side') ? 'side_by_side' : 'face',
    faces: faces === 'all' ? 'all' : 'one',
    crop: crop === 'center' ? 'center' : 'auto',
    private: o?.getBoolean('private') ?? false,
  };
}

/**
 * Tell only the member: an ephemeral reply when nothing was sent yet; when a deferred reply exists,
 * edit it if it is already ephemeral, else delete the public "thinking…" reply and follow up ephemerally.
 */
export async function replyPrivately(interaction: TranslationInteraction, content: string, deferredEphemeral: boolean): Promise<void> {
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    return;
  }
  if (deferredEphemeral) {
    await interaction.editReply({ content, embeds: [], components: [], files: [] });
    return;
  }
  await interaction.deleteReply().catch(() => undefined); // already gone: the follow-up still tells the member
  await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
}

/** Reply privately with the friendly message for `err` (see {@link replyPrivately}). */
export async function replyWithError(ctx: BotContext, interaction: TranslationInteraction, err: unknown, deferredEphemeral = false): Promise<void> {
  await replyPrivately(interaction, friendlyMessage(err, ctx.limits), deferredEphemeral);
}

/** Serialises edits of the deferred reply and throttles queue-position updates. */
class ReplyEditor {
  private chain: Promise<unknown> = Promise.resolve();
  private lastProgressAt = 0;
  private pendingPosition: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly interaction: TranslationInteraction,
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
export async function handleTranslation(ctx: BotContext, interaction: TranslationInteraction, attachment: DeclaredAttachment | null, req: TranslationRequest): Promise<void> {
  const log = ctx.log.child({ interaction: interaction.id, direction: req.direction }); // never the member's id
  // 1. refusals that need no download, answered ephemerally and at once
  try {
    if (!ctx.jobs.accepting) throw new BotError('SHUTTING_DOWN', 'the bot is shutting down');
    if (!attachment) throw new BotError('NO_IMAGE', 'no image attached');
    checkDeclaredAttachment(attachment, { maxBytes: ctx.config.MAX_IMAGE_BYTES, maxPixels: ctx.config.MAX_IMAGE_PIXELS, minSide: ctx.config.MIN_FACE_PX });
    await ctx.rateLimits.take('translate', interaction.user.id, interaction.guildId);
  } catch (err) {
    log.info({ code: errorCodeOf(err) }, 'translation refused before download');
    await replyWithError(ctx, interaction, err);
    // every outcome is a generation row (no image hash: nothing was downloaded); not while shutting
    // down, and not for a request over the rate limit: a flood must not turn into database writes
    if (!(err instanceof BotError && NO_ROW_CODES.has(err.code))) await finishFailure(ctx, interaction, req, null, err, null, null, 0, log);
    return;
  }
  // 2. acknowledge within Discord's 3 seconds; tracked from here so shutdown waits for it
  await ctx.jobs.run(async () => {
    const started = Date.now();
    try {
      await interaction.deferReply(req.private ? { flags: MessageFlags.Ephemeral } : {});
    } catch (err) {
      log.warn({ err }, 'could not acknowledge the command');
      await finishFailure(ctx, interaction, req, null, err, null, null, Date.now() - started, log); // its one row
      return;
    }
    // One row per request from here on: pending now, finished once with the outcome.
    const generation = await ctx.feedback
      .startGeneration(requestRow(interaction, req))
      .catch((err: unknown) => {
        log.error({ err }, 'could not record the generation');
        return null;
      });
    const owner = ctx.jobs.ownerSignal(interaction.user.id);
    try {
      await translateAndReply(ctx, interaction, attachment, req, log, generation?.id ?? null, owner.signal, started);
    } finally {
      owner.release();
    }
  });
}

async function translateAndReply(
  ctx: BotContext,
  interaction: TranslationInteraction,
  attachment: DeclaredAttachment,
  req: TranslationRequest,
  log: BotContext['log'],
  generationId: number | null,
  signal: AbortSignal,
  started: number,
): Promise<void> {
  const editor = new ReplyEditor(interaction, (err) => log.warn({ err }, 'progress edit failed'));
  let input: Buffer | null = null;
  let result: Awaited<ReturnType<BotContext['inference']['translate']>> | null = null;
  let message: { id: string };
  try {
    input = await downloadAttachment(attachment.url, {
      allowedHosts: ctx.config.DISCORD_ATTACHMENT_HOSTS,
      maxBytes: ctx.config.MAX_IMAGE_BYTES,
      timeoutMs: ctx.config.DOWNLOAD_TIMEOUT_MS,
      signal,
    });
    result = await ctx.inference.translate(input, {
      direction: req.direction,
      attention: req.attention,
      output: req.output,
      faces: req.faces,
      crop: req.crop,
      outputSize: req.outputSize,
      auditImages: ctx.auditor !== undefined,
      signal,
      onQueuePosition: (p) => editor.progress(p),
    });
    const done = result;
    const elapsedMs = Date.now() - started;
    message = await editor.final(() =>
      interaction.editReply({
        content: '',
        embeds: [resultEmbed({ direction: req.direction, modelVersion: done.modelVersion, facesFound: done.facesFound, cropMode: done.cropMode, elapsedMs, output: done.output })],
        files: [new AttachmentBuilder(done.png, { name: RESULT_FILE_NAME })],
        components: generationId !== null ? resultComponents(generationId, { output: req.output, attention: req.attention, outputSize: req.outputSize }) : [],
      }),
    );
  } catch (err) {
    if (!isAppError(err)) log.error({ err }, 'translation failed unexpectedly');
    else if (OPERATOR_CODES.has(err.code)) log.error({ code: err.code, details: err.details }, `translation failed: ${err.message}`);
    else log.info({ code: err.code }, 'translation failed');
    // The one outcome of this request (a failed final edit included: the member did not get the result).
    await finishFailure(ctx, interaction, req, generationId, err, input, result, Date.now() - started, log);
    const content = friendlyMessage(err, ctx.limits);
    await editor
      .final(() => replyPrivately(interaction, content, req.private))
      .catch((e: unknown) => log.warn({ err: e }, 'could not tell the member about the failure'));
    return;
  }
  const elapsedMs = Date.now() - started;
  const outcome = { modelVersion: result.modelVersion, inputSha256: result.inputSha256, facesFound: result.facesFound, latencyMs: elapsedMs, status: 'ok' as const, messageId: message.id };
  await finishGeneration(ctx, interaction, req, generationId, outcome, log);
  if (generationId !== null) ctx.sources.remember(generationId, { userId: interaction.user.id, attachment, request: req });
  // the automatic audit runs after the reply has gone out, in the background (src/analysis)
  if (generationId !== null) ctx.auditor?.submit(generationId, req.direction, result.auditImages);
  if (!req.private && interaction.channelId && canReact(interaction)) {
    for (const emoji of [VOTE_EMOJI.up, VOTE_EMOJI.down]) {
      await ctx.client.rest
        .put(Routes.channelMessageOwnReaction(interaction.channelId, message.id, encodeURIComponent(emoji)))
        .catch((err: unknown) => log.warn({ err }, 'could not add the voting reactions'));
    }
  }
  log.info({ generation: generationId, elapsedMs, faces: result.facesFound }, 'translation done');
}

/**
 * Whether the bot can add its 👍/👎 reactions where the result is: in a server that installed the bot,
 * or in the member's DM with the bot. A user-installed command in a server or group DM without the
 * bot has no bot member there to react (or to see reactions).
 */
export function canReact(interaction: TranslationInteraction): boolean {
  const owners = interaction.authorizingIntegrationOwners as unknown as Record<string, string | undefined> | null | undefined;
  if (interaction.guildId !== null) return !owners || owners['0'] !== undefined; // '0' = guild install
  return interaction.context === 1; // 1 = the member's DM with the bot
}

/** Finish the request's row with a failure (or insert the one row when starting it had failed). */
async function finishFailure(
  ctx: BotContext,
  interaction: TranslationInteraction,
  req: TranslationRequest,
  generationId: number | null,
  err: unknown,
  input: Buffer | null,
  result: { modelVersion: string; inputSha256: string; facesFound: number } | null,
  latencyMs: number,
  log: BotContext['log'],
): Promise<void> {
  const modelVersion =
    result?.modelVersion ??
    (await ctx.inference
      .modelVersions()
      .then((v) => v[req.direction] ?? 'none')
      .catch(() => 'unknown'));
  const outcome = {
    modelVersion,
    inputSha256: result?.inputSha256 ?? (input ? createHash('sha256').update(input).digest('hex') : null),
    facesFound: result?.facesFound ?? 0,
    latencyMs,
    status: 'failed' as const,
    errorCode: errorCodeOf(err),
  };
  await finishGeneration(ctx, interaction, req, generationId, outcome, log);
}

async function finishGeneration(
  ctx: BotContext,
  interaction: TranslationInteraction,
  req: TranslationRequest,
  generationId: number | null,
  outcome: Outcome,
  log: BotContext['log'],
): Promise<void> {
  if (generationId === null) {
    await recordGeneration(ctx, interaction, req, outcome, log);
    return;
  }
  try {
    await ctx.feedback.finishGeneration(generationId, outcome);
  } catch (err) {
    log.error({ err }, 'could not record the outcome of the generation');
  }
}

/** The outcome written to a request's one generation row. */
type Outcome = { modelVersion: string; inputSha256: string | null; facesFound: number; latencyMs: number; status: 'ok' | 'failed'; errorCode?: string; messageId?: string };

/** What identifies a request in its generation row (never the image). */
function requestRow(interaction: TranslationInteraction, req: TranslationRequest) {
  return {
    userId: interaction.user.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId ?? interaction.user.id,
    interactionId: interaction.id,
    direction: req.direction,
    outputMode: req.output,
    parentGenerationId: req.parentGenerationId ?? null,
  };
}

async function recordGeneration(
  ctx: BotContext,
  interaction: TranslationInteraction,
  req: TranslationRequest,
  outcome: Outcome,
  log: BotContext['log'],
): Promise<{ id: number } | null> {
  try {
    return await ctx.feedback.recordGeneration({ ...requestRow(interaction, req), ...outcome });
  } catch (err) {
    log.error({ err }, 'could not record the generation');
    return null;
  }
}
