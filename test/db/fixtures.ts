/** Small builders for feedback-store tests: valid inputs that each test tweaks. */
import { createHash } from 'node:crypto';
import type { NewGeneration } from '../../src/db/feedback.service.ts';

/** A Discord-shaped id (18 digits) derived from a small number, so tests read `user(1)`, `user(2)`. */
export function snowflake(n: number): string {
  return String(100_000_000_000_000_000n + BigInt(n));
}

export const user = (n: number): string => snowflake(1_000 + n);
export const GUILD = snowflake(1);
export const CHANNEL = snowflake(2);

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let seq = 0;
/** A valid successful a2b generation; override any field. */
export function newGeneration(overrides: Partial<NewGeneration> = {}): NewGeneration {
  seq += 1;
  return {
    userId: user(1),
    guildId: GUILD,
    channelId: CHANNEL,
    interactionId: snowflake(500_000 + seq),
    direction: 'a2b',
    modelVersion: 'v1',
    inputSha256: sha256(`input ${seq}`),
    facesFound: 1,
    latencyMs: 420,
    status: 'ok',
    ...overrides,
  };
}
