/** What every command and handler gets: configuration, services, and the bot's own state. */
import type { Client } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { GenerationAuditor } from '../analysis/generation-auditor.ts';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/client.ts';
import type { FeedbackService } from '../db/feedback.service.ts';
import type { RebalancingReport } from '../db/report.ts';
import type { InferenceClient } from '../inference/inference.types.ts';
import type { MessageLimits } from './error-messages.ts';
import type { JobTracker } from './job-tracker.ts';
import type { RateLimits } from './rate-limiter.ts';
import type { SourceCache } from './source-cache.ts';

/** Settings the bot reads. A subset of {@link Config}, so tests can pass a plain object. */
export type BotConfig = Pick<
  Config,
  | 'DISCORD_TOKEN'
  | 'DISCORD_APPLICATION_ID'
  | 'DISCORD_API_URL'
  | 'DISCORD_ATTACHMENT_HOSTS'
  | 'DOWNLOAD_TIMEOUT_MS'
  | 'RATE_LIMIT_USER_PER_MIN'
  | 'RATE_LIMIT_GUILD_PER_MIN'
  | 'RATE_LIMIT_STATS_PER_MIN'
  | 'RATE_LIMIT_REPORTS_PER_MIN'
  | 'RATE_LIMIT_VOTES_PER_MIN'
  | 'RATE_LIMIT_KEY_PREFIX'
  | 'MAX_IMAGE_BYTES'
  | 'MAX_IMAGE_PIXELS'
  | 'MIN_FACE_PX'
>;

/** Everything the bot is built from (injected by the composition root or by tests). */
export interface BotDeps {
  config: BotConfig;
  inference: InferenceClient;
  feedback: FeedbackService;
  /** The open database (for /webtoon-stats). */
  database: DatabaseHandle;
  /** Renders the rebalancing report's chart as PNG for /webtoon-stats (optional: no chart without it). */
  renderChart?: (report: RebalancingReport) => Promise<Buffer>;
  /** Audits each successful generation after its reply (face analysis; AUDIT_ENABLED). Optional: no audit without it. */
  auditor?: GenerationAuditor;
  /** The bot's Redis connection (REDIS_URL): rate-limit counts shared by every shard. Without it they are per process. */
  redis?: Redis;
  /** Optional: the bot closes what it owns on stop (defaults: nothing is closed). */
  owns?: { inference?: boolean; database?: boolean; auditor?: boolean; redis?: boolean };
  logger?: Logger;
}

export interface BotContext extends BotDeps {
  client: Client;
  rateLimits: RateLimits;
  jobs: JobTracker;
  /** How each recent result was made (the upload's link, not the image), for its variation buttons. */
  sources: SourceCache;
  log: Logger;
  limits: MessageLimits;
}
