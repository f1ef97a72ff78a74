/**
 * The one reader of `process.env`. Every setting is declared here, validated with zod and given a
 * default that runs on one machine (PGlite under ./data, models under ./models, in-process CPU
 * inference). Tests pass their own values to {@link loadConfig} instead of mutating the environment.
 * `.env.example` documents every variable; keep the two in step.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

const int = (min: number) => z.coerce.number().int().min(min);
const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),

  // storage
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres|postgresql):\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_POOL_MAX: int(1).default(10),

  // models and inference
  MODELS_DIR: z.string().default('./models'),
  MODEL_PIN_A2B: z.string().optional(),
  MODEL_PIN_B2A: z.string().optional(),
  ORT_PROVIDERS: list.default(['cuda', 'cpu']),
  ORT_THREADS: int(0).default(0),
  INFERENCE_TRANSPORT: z.enum(['inprocess', 'redis']).default('inprocess'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  REDIS_QUEUE: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, . _ - only').default('webtoon-inference'),
  MAX_IMAGE_BYTES: int(1).default(10 * 1024 * 1024),
  MAX_IMAGE_PIXELS: int(1).default(50_000_000),
  MIN_FACE_PX: int(1).default(48),
  FACE_MARGIN: z.coerce.number().min(0).max(3).default(0.5),
  ANIME_CASCADE_PATH: z.string().default(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../assets/lbpcascade_animeface.xml')),
  BATCH_MAX_SIZE: int(1).default(8),
  BATCH_MAX_WAIT_MS: int(0).default(15),
  QUEUE_MAX: int(1).default(64),
  JOB_TIMEOUT_MS: int(1).default(60_000),
  OUTPUT_SIZE: z.coerce.number().refine((n) => n === 256 || n === 512, 'must be 256 or 512').default(256),

  // Discord
  DISCORD_TOKEN: z.string().min(1).optional(),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{15,25}$/, 'must be a Discord snowflake (digits)').optional(),
  DISCORD_GUILD_ID: z.string().regex(/^\d{15,25}$/, 'must be a Discord snowflake (digits)').optional(),
  DISCORD_API_URL: z.string().url().default('https://discord.com/api'),
  DISCORD_ATTACHMENT_HOSTS: list.default(['cdn.discordapp.com', 'media.discordapp.net']),
  DOWNLOAD_TIMEOUT_MS: int(1).default(15_000),
  RATE_LIMIT_USER_PER_MIN: int(0).default(5),
  RATE_LIMIT_GUILD_PER_MIN: int(0).default(60),
  RATE_LIMIT_STATS_PER_MIN: int(0).default(3),
  RATE_LIMIT_REPORTS_PER_MIN: int(0).default(10),
  RATE_LIMIT_VOTES_PER_MIN: int(0).default(30),
  RATE_LIMIT_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, . _ : - only').default('webtoon-ratelimit'),
  BOT_SHARDS: z.union([z.literal('auto'), int(1)]).default('auto'),

  // automatic audit of each generation (face analysis after the reply; src/analysis)
  AUDIT_ENABLED: z.enum(['true', 'false', '1', '0']).default('true').transform((v) => v === 'true' || v === '1'),
  AUDIT_MAX_PENDING: int(1).default(32),

  // operations: /healthz and /metrics of the bot and of `webtoon worker`
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),

  // training
  TRAIN_BACKEND: z.enum(['auto', 'webgpu', 'tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu']).default('auto'),
});

export type Env = z.infer<typeof schema>;

/** Fully resolved configuration. Paths are absolute. */
export type Config = Omit<Env, 'LOG_LEVEL'> & {
  LOG_LEVEL: NonNullable<Env['LOG_LEVEL']>;
  /** Directory holding the embedded PGlite database when DATABASE_URL is unset. */
  pgliteDir: string;
};

/**
 * Parse and validate configuration from an environment-like record.
 * @param env - defaults to `process.env`; tests pass a plain object.
 * @throws {ConfigError} listing every invalid variable with what was expected.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError('CONFIG_INVALID', `Invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  const c = parsed.data;
  const dataDir = path.resolve(c.DATA_DIR);
  return {
    ...c,
    // Tests are quiet unless asked otherwise.
    LOG_LEVEL: c.LOG_LEVEL ?? (c.NODE_ENV === 'test' ? 'silent' : 'info'),
    DATA_DIR: dataDir,
    MODELS_DIR: path.resolve(c.MODELS_DIR),
    pgliteDir: path.join(dataDir, 'pglite'),
  };
}

let cached: Config | undefined;

/**
 * Load `file` (default `.env` in the working directory) into `process.env` when it exists, with
 * Node's own parser (`process.loadEnvFile`). Variables already set in the environment win.
 * @returns the file loaded, or null when there is none.
 * @throws {ConfigError} CONFIG_INVALID when the file exists but cannot be read.
 */
export function loadDotEnv(file = path.resolve('.env')): string | null {
  if (!existsSync(file)) return null;
  try {
    process.loadEnvFile(file);
  } catch (err) {
    throw new ConfigError('CONFIG_INVALID', `cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, { file }, { cause: err });
  }
  return file;
}

/** The process-wide configuration, parsed once from `process.env` (after loading `.env` when present). */
export function config(): Config {
  if (!cached) {
    loadDotEnv();
    cached = loadConfig();
  }
  return cached;
}
