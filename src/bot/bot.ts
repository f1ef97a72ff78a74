/**
 * The bot's composition root: a discord.js client wired to the injected services (inference client,
 * feedback store, database). Tests build it with the real services and point it at the local stand-in.
 */
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import { moduleLogger } from '../logger.ts';
import type { BotContext, BotDeps } from './bot.context.ts';
import { loadCommands } from './command.loader.ts';
import { handleReaction } from './handlers/reaction.handler.ts';
import { routeInteraction } from './handlers/interaction.router.ts';
import { JobTracker } from './job-tracker.ts';
import { RateLimits } from './rate-limiter.ts';
import { SourceCache } from './source-cache.ts';

export interface Bot {
  readonly client: Client;
  readonly ctx: BotContext;
  /** Log in and resolve once the gateway session is ready. */
  start(): Promise<void>;
  /**
   * Stop taking new work, let running translations finish (up to `graceMs`, then abort them so they
   * end with a clear message), disconnect, and close what the bot owns. Safe to call twice.
   */
  stop(graceMs?: number): Promise<{ finished: number; aborted: number }>;
}

/** Default time running translations get to finish on shutdown. */
export const SHUTDOWN_GRACE_MS = 20_000;

/** Build the bot from its services. Nothing connects until {@link Bot.start}. */
export async function createBot(deps: BotDeps): Promise<Bot> {
  const { config } = deps;
  const client = new Client({
    rest: { api: config.DISCORD_API_URL },
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.DirectMessageReactions],
    partials: [Partials.Message, Partials.Channel, Partials.Reaction, Partials.User],
  });
  const log = deps.logger ?? moduleLogger('bot');
  const ctx: BotContext = {
    ...deps,
    client,
    log,
    jobs: new JobTracker(),
    sources: new SourceCache(),
    rateLimits: new RateLimits(
      {
        translatePerUser: config.RATE_LIMIT_USER_PER_MIN,
        translatePerGuild: config.RATE_LIMIT_GUILD_PER_MIN,
        statsPerUser: config.RATE_LIMIT_STATS_PER_MIN,
        reportsPerUser: config.RATE_LIMIT_REPORTS_PER_MIN,
        votesPerUser: config.RATE_LIMIT_VOTES_PER_MIN,
      },
      { redis: deps.redis, keyPrefix: config.RATE_LIMIT_KEY_PREFIX },
    ),
    limits: { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS, minSide: config.MIN_FACE_PX },
  };
  const commands = await loadCommands();

  client.on(Events.InteractionCreate, (interaction) => {
    void routeInteraction(ctx, commands, interaction);
  });
  const onReaction = (action: 'add' | 'remove') => (reaction: Parameters<typeof handleReaction>[1], user: Parameters<typeof handleReaction>[2]) => {
    handleReaction(ctx, reaction, user, action).then(
      (outcome) => log.debug({ outcome, message: reaction.message.id, action }, 'reaction'),
      (err: unknown) => log.error({ err, message: reaction.message.id }, 'could not record the vote'),
    );
  };
  client.on(Events.MessageReactionAdd, onReaction('add'));
  client.on(Events.MessageReactionRemove, onReaction('remove'));
  client.on(Events.Error, (err) => log.error({ err }, 'discord client error'));
  client.on(Events.ShardError, (err, shardId) => log.warn({ err, shardId }, 'gateway connection error'));

  let stopping: Promise<{ finished: number; aborted: number }> | undefined;
  return {
    client,
    ctx,
    async start() {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(config.DISCORD_TOKEN);
      await ready;
      log.info({ bot: client.user?.tag, guilds: client.guilds.cache.size, commands: [...commands.keys()] }, 'bot ready');
    },
    stop(graceMs = SHUTDOWN_GRACE_MS) {
      stopping ??= (async () => {
        log.info({ inFlight: ctx.jobs.size }, 'stopping: no new work accepted');
        const drained = await ctx.jobs.drain(graceMs);
        await client.destroy();
        if (deps.owns?.auditor) await deps.auditor?.close(); // finishes pending audits before the database closes
        if (deps.owns?.inference) await deps.inference.close();
        if (deps.owns?.database) await deps.database.close();
        if (deps.owns?.redis) deps.redis?.disconnect();
        log.info(drained, 'stopped');
        return drained;
      })();
      return stopping;
    },
  };
}
