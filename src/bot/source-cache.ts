/**
 * What a variation button needs to re-render a result: the link to the member's upload on Discord's
 * CDN, its declared facts, and the options the result was made with. Kept in this process's memory
 * only, for {@link SOURCE_TTL_MS} and at most {@link SOURCE_MAX_ENTRIES} results (oldest dropped
 * first); never the image itself and never in the database. The picture is downloaded again from
 * Discord when a button is pressed. After a restart (or once expired) the buttons say so.
 */
import type { DeclaredAttachment } from './attachment.validation.ts';
import type { TranslationRequest } from './translation.service.ts';

/** How long the buttons under a result keep working (Discord's signed attachment links last longer). */
export const SOURCE_TTL_MS = 60 * 60 * 1000;
export const SOURCE_MAX_ENTRIES = 5000;

export interface ResultSource {
  /** Discord id of the member who asked (the only one who may press the buttons). */
  userId: string;
  attachment: DeclaredAttachment;
  /** The options that produced the result. */
  request: TranslationRequest;
  /** When it stops being usable (epoch ms). */
  expiresAt: number;
}

export class SourceCache {
  private readonly entries = new Map<number, ResultSource>();

  constructor(
    private readonly ttlMs = SOURCE_TTL_MS,
    private readonly maxEntries = SOURCE_MAX_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remember how generation `id` was made. */
  remember(id: number, source: Omit<ResultSource, 'expiresAt'>): void {
    this.entries.delete(id);
    this.entries.set(id, { ...source, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** How generation `id` was made, or undefined when unknown or expired. */
  get(id: number): ResultSource | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return e;
  }

  /** Forget everything a member asked for (/forget-me). Returns how many entries went. */
  forgetUser(userId: string): number {
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.userId === userId) {
        this.entries.delete(id);
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.entries.size;
  }
}
