/**
 * Data-parallel training over worker threads (`--workers N`): tfjs-wasm runs one thread per
 * instance in Node, so N replicas (replica.worker.ts), each with its own wasm instance and a full copy
 * of the networks, use N cores. Per iteration, with a global batch of N·B images per domain:
 *
 * 1. replica i gets images [i·B, (i+1)·B) of each domain and runs the D step's forward and backward;
 * 2. the coordinator (this class, main thread) averages the N gradients of every D parameter — the
 *    losses are means over the batch, so the mean of N equal-sized shards' gradients IS the gradient
 *    over the N·B images — runs ONE Adam update on its master copy of the networks and sends the new
 *    D parameters to every replica;
 * 3. the same for the G step (then ρ is clipped on the master before the parameters go out);
 * 4. the losses are averaged the same way.
 *
 * So a step with N workers of batch B equals a single-worker step at batch N·B up to float rounding
 * (tested), and the data stream, the Adam state and the checkpoints are those of the single-worker
 * run of batch N·B: resume stays exact. Spectral-norm u/v advance identically in every replica (same
 * weights, same calls), and are read from replica 0 when a checkpoint is written.
 *
 * Several GPUs fit the same scheme: a replica that activates webgpu on adapter i instead of wasm (the
 * protocol carries plain Float32Arrays, the coordinator does not care where gradients come from).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { CoupledAdam, type AdamOptions } from '../optimizer.ts';
import { NETWORK_NAMES, type UgatitState } from '../tensors.ts';
import type { FromReplica, ReplicaInit, ToReplica } from './replica.protocol.ts';
import { D_LOSS_TERMS, G_LOSS_TERMS } from '../losses.ts';
import { createOptimizer, DISCRIMINATOR_NAMES, GENERATOR_NAMES, reportGradients, type StepHooks, type StepLosses, type UgatitNetworks } from './train-step.ts';
import { TrainingError } from '../training.errors.ts';

const BOOTSTRAP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'replica.worker-bootstrap.mjs');

/** How the replicas are set up. */
export interface DataParallelOptions {
  workers: number;
  /** Backend each replica activates (`wasm`, `cpu`). */
  backend: string;
  nets: ReplicaInit['nets'];
  lowMemory: boolean;
  adam?: Partial<AdamOptions>;
  rhoRange?: [number, number];
}

interface Replica {
  worker: Worker;
  /** Messages not yet claimed by a waiter, in arrival order. */
  inbox: FromReplica[];
  waiter?: (m: FromReplica) => void;
  failure?: Error;
}

/** The coordinator: owns the replicas, the master networks' Adam optimizers, and the averaging. */
export class DataParallelStep {
  readonly optG: CoupledAdam;
  readonly optD: CoupledAdam;
  private readonly replicas: Replica[] = [];
  private readonly rhoRange: [number, number];
  private closed = false;

  private constructor(
    /** The master copy: Adam updates it; samples and checkpoints read it. */
    readonly nets: UgatitNetworks,
    readonly opts: DataParallelOptions,
  ) {
    // Adam as tensor ops on the master's backend (wasm SIMD), not the JS loop of the low-memory mode: the
    // master holds no activations, so its moments fit, and the update is one pass over the parameters
    const adam = { ...opts.adam, hostState: false };
    this.optG = createOptimizer(nets, GENERATOR_NAMES, adam);
    this.optD = createOptimizer(nets, DISCRIMINATOR_NAMES, adam);
    this.rhoRange = opts.rhoRange ?? [0, 1];
  }

  /**
   * Start `opts.workers` replicas from the master networks' current weights (and spectral-norm
   * buffers) and wait until each has built its networks.
   * @throws {TrainingError} WORKERS_FAILED when a replica cannot start
   */
  static async start(nets: UgatitNetworks, opts: DataParallelOptions): Promise<DataParallelStep> {
    const sut = new DataParallelStep(nets, opts);
    const state: UgatitState = {};
    for (const n of NETWORK_NAMES) state[n] = await nets[n].readStateDict();
    const init: ReplicaInit = { backend: opts.backend, nets: opts.nets, state, lowMemory: opts.lowMemory };
    for (let i = 0; i < opts.workers; i++) {
      const worker = new Worker(BOOTSTRAP, { workerData: init, stdout: false, stderr: false });
      const r: Replica = { worker, inbox: [] };
      worker.on('message', (m: FromReplica) => {
        if (r.waiter) {
          const w = r.waiter;
          r.waiter = undefined;
          w(m);
        } else r.inbox.push(m);
      });
      const fail = (err: Error) => {
        r.failure ??= err;
        const w = r.waiter;
        r.waiter = undefined;
        w?.({ type: 'error', message: err.message });
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!sut.closed) fail(new Error(`replica ${i} exited with code ${code}`));
      });
      sut.replicas.push(r);
    }
    try {
      await Promise.all(sut.replicas.map((r, i) => sut.expect(r, i, 'ready')));
    } catch (err) {
      await sut.dispose();
      throw err;
    }
    return sut;
  }

  private next(r: Replica): Promise<FromReplica> {
    const m = r.inbox.shift();
    if (m) return Promise.resolve(m);
    if (r.failure) return Promise.resolve({ type: 'error', message: r.failure.message });
    return new Promise((resolve) => (r.waiter = resolve));
  }

  private async expect<T extends FromReplica['type']>(r: Replica, i: number, type: T): Promise<Extract<FromReplica, { type: T }>> {
    const m = await this.next(r);
    if (m.type === 'error') throw new TrainingError('WORKERS_FAILED', `training worker ${i} failed: ${m.message}`, { worker: i });
    if (m.type !== type) throw new TrainingError('WORKERS_FAILED', `training worker ${i} sent "${m.type}" where "${type}" was expected`, { worker: i });
    return m as Extract<FromReplica, { type: T }>;
  }

  private send(i: number, msg: ToReplica, transfer: ArrayBuffer[] = []): void {
    this.replicas[i].worker.postMessage(msg, transfer);
  }

  /** Average the replicas' gradients of one phase, update the master with one Adam step, broadcast. */
  private async reduceAndUpdate(phase: 'D' | 'G', lr: number, hooks: Pick<StepHooks, 'onGradients'>): Promise<void> {
    const replies = await Promise.all(this.replicas.map((r, i) => this.expect(r, i, 'grads')));
    const names = replies[0].names;
    const n = replies.length;
    const opt = phase === 'D' ? this.optD : this.optG;
    const grads = new Map<string, tf.Tensor>();
    try {
      names.forEach((k, j) => {
        const variable = opt.params.get(k);
        if (!variable) throw new TrainingError('WORKERS_FAILED', `training worker sent a gradient for unknown parameter ${k}`, { name: k });
        const sum = new Float32Array(replies[0].values[j].length);
        for (const rep of replies) {
          if (rep.names[j] !== k) throw new TrainingError('WORKERS_FAILED', `training workers disagree on the parameter order at ${k}`, { name: k });
          const v = rep.values[j];
          for (let e = 0; e < sum.length; e++) sum[e] += v[e];
        }
        for (let e = 0; e < sum.length; e++) sum[e] /= n;
        grads.set(k, tf.tensor(sum, variable.shape, 'float32'));
      });
      await reportGradients(hooks, phase, grads, opt);
      opt.apply(grads, lr);
    } finally {
      for (const t of grads.values()) t.dispose();
    }
    if (phase === 'G') {
      const [lo, hi] = this.rhoRange;
      this.nets.genA2B.clipRho(lo, hi);
      this.nets.genB2A.clipRho(lo, hi);
    }
    // one shared buffer for every replica (postMessage would copy the parameters once per replica)
    const sizes = names.map((k) => opt.params.get(k)!.size);
    const shared = new Float32Array(new SharedArrayBuffer(4 * sizes.reduce((x, y) => x + y, 0)));
    let at = 0;
    for (let j = 0; j < names.length; j++) {
      shared.set((await opt.params.get(names[j])!.data()) as Float32Array, at);
      at += sizes[j];
    }
    this.replicas.forEach((_, i) => this.send(i, { type: 'params', phase, names, shared, sizes }));
  }

  /**
   * One iteration on `a`, `b`: NHWC batches of `workers × B` images each, in [-1, 1].
   * `hooks.onGradients` sees the averaged gradients (what the Adam update uses).
   * @returns the losses of the whole batch (the mean of the replicas' equal-sized shards)
   * @throws {TrainingError} WORKERS_FAILED when a replica fails
   */
  async run(a: Float32Array, b: Float32Array, shape: [number, number, number, number], lr: number, hooks: Pick<StepHooks, 'onGradients'> = {}): Promise<StepLosses> {
    if (this.closed) throw new TrainingError('WORKERS_FAILED', 'the training workers were stopped', {});
    const w = this.replicas.length;
    const [batch, h, wd, c] = shape;
    if (batch % w !== 0) throw new RangeError(`batch ${batch} does not split over ${w} workers`);
    const per = batch / w;
    const len = per * h * wd * c;
    for (let i = 0; i < w; i++) {
      const sa = a.slice(i * len, (i + 1) * len);
      const sb = b.slice(i * len, (i + 1) * len);
      this.send(i, { type: 'step', a: sa, b: sb, shape: [per, h, wd, c], lr }, [sa.buffer, sb.buffer]);
    }
    await this.reduceAndUpdate('D', lr, hooks);
    await this.reduceAndUpdate('G', lr, hooks);
    const done = await Promise.all(this.replicas.map((r, i) => this.expect(r, i, 'done')));
    const losses = {} as StepLosses;
    for (const k of [...D_LOSS_TERMS, ...G_LOSS_TERMS, 'Discriminator_loss', 'Generator_loss'] as const) {
      losses[k] = done.reduce((s, d) => s + d.losses[k], 0) / w;
    }
    return losses;
  }

  /**
   * The full state of the networks for a checkpoint: parameters from the master (equal to every
   * replica's), spectral-norm u/v from replica 0 (the master's are not advanced).
   */
  async readState(): Promise<UgatitState> {
    this.send(0, { type: 'state', networks: NETWORK_NAMES });
    const reply = await this.expect(this.replicas[0], 0, 'state');
    const out: UgatitState = {};
    for (const n of NETWORK_NAMES) {
      const master = await this.nets[n].readStateDict();
      const fromReplica = reply.state[n]!;
      for (const [k, t] of fromReplica) if (k.endsWith('.weight_u') || k.endsWith('.weight_v')) master.set(k, t);
      out[n] = master;
    }
    // keep the master's buffers current too (its sample grids run the generators only, but a later
    // start of replicas from the master must not rewind u/v)
    for (const n of DISCRIMINATOR_NAMES) this.nets[n].loadStateDict(out[n]!);
    return out;
  }

  /** Stop the replicas and free the optimizers' moments (the master networks belong to the caller). */
  async dispose(): Promise<void> {
    this.closed = true;
    await Promise.all(this.replicas.map((r) => r.worker.terminate().catch(() => 0)));
    this.replicas.length = 0;
    this.optG.dispose();
    this.optD.dispose();
  }
}
