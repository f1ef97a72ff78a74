/**
 * A test double of the worker-thread inference client that can break its worker on purpose: crash it
 * (as a native crash or OOM would) or block it (a stuck native call). Production code has no such
 * methods; the worker obeys these messages only when started with `faultInjection: true`.
 */
import type { Config } from '../../src/config.ts';
import { type ClientOptions, WorkerInferenceClient } from '../../src/inference/inference.client.ts';

export class FaultInjectingClient extends WorkerInferenceClient {
  constructor(config: Config, opts: ClientOptions = {}) {
    super(config, { ...opts, faultInjection: true });
  }

  /** Make the worker thread exit abruptly (exit code 70). */
  crashWorker(): void {
    this.post({ type: 'crash' });
  }

  /** Block the worker thread for `ms`. */
  hangWorker(ms: number): void {
    this.post({ type: 'hang', ms });
  }
}

/** Like `createInferenceClient`: a started {@link FaultInjectingClient}. */
export async function createFaultInjectingClient(config: Config, opts: ClientOptions = {}): Promise<FaultInjectingClient> {
  const client = new FaultInjectingClient(config, opts);
  try {
    await client.start();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
