/**
 * Losses and optimizer of the trainer: each loss against its definition, the official weighting of
 * the D and G totals, torch's Adam with coupled L2 weight decay against a double-precision
 * reference, state export/import, and the linear learning-rate decay.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bceWithLogitsLoss,
  D_LOSS_TERMS,
  discriminatorLoss,
  G_LOSS_TERMS,
  generatorLoss,
  l1Loss,
  mseLoss,
  OFFICIAL_LOSS_WEIGHTS,
  type DiscriminatorLogits,
} from '../../src/training/losses.ts';
import { CoupledAdam, linearDecayLr } from '../../src/training/optimizer.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const val = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

describe('mseLoss / l1Loss', () => {
  it('averages squared and absolute differences over all elements', () => {
    expect(val(mseLoss(tf.tensor([1, 2, 3, 5]), 1))).toBeCloseTo((0 + 1 + 4 + 16) / 4, 6);
    expect(val(l1Loss(tf.tensor([1, -2, 3]), tf.tensor([0, 0, 0])))).toBeCloseTo(2, 6);
  });
});

describe('bceWithLogitsLoss', () => {
  it('equals −[t·log σ(x) + (1−t)·log(1−σ(x))] averaged', () => {
    const xs = [-3, -0.5, 0, 0.7, 4];
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    for (const t of [0, 1]) {
      const want = xs.reduce((a, x) => a - (t * Math.log(sig(x)) + (1 - t) * Math.log(1 - sig(x))), 0) / xs.length;
      expect(val(bceWithLogitsLoss(tf.tensor(xs), t))).toBeCloseTo(want, 5);
    }
  });

  it('stays finite and exact for large logits', () => {
    expect(val(bceWithLogitsLoss(tf.tensor([100]), 0))).toBeCloseTo(100, 4);
    expect(val(bceWithLogitsLoss(tf.tensor([-100]), 1))).toBeCloseTo(100, 4);
    expect(val(bceWithLogitsLoss(tf.tensor([100]), 1))).toBeCloseTo(0, 6);
  });
});

function logits(patch: number, cam: number): DiscriminatorLogits {
  return { patch: tf.fill([1, 3, 3, 1], patch), camLogit: tf.fill([1, 2], cam) };
}

describe('discriminatorLoss', () => {
  it('is 0 for a perfect discriminator and sums 16 MSE terms times adv otherwise', () => {
    const perfect = discriminatorLoss({ GA: logits(1, 1), LA: logits(1, 1), GB: logits(1, 1), LB: logits(1, 1) }, { GA: logits(0, 0), LA: logits(0, 0), GB: logits(0, 0), LB: logits(0, 0) });
    expect(val(perfect.total)).toBe(0);
    // real patch 0.5 → (0.5)², fake patch 0.5 → (0.5)²; cams likewise: every term = 0.5
    const half = discriminatorLoss({ GA: logits(0.5, 0.5), LA: logits(0.5, 0.5), GB: logits(0.5, 0.5), LB: logits(0.5, 0.5) }, { GA: logits(0.5, 0.5), LA: logits(0.5, 0.5), GB: logits(0.5, 0.5), LB: logits(0.5, 0.5) }, { ...OFFICIAL_LOSS_WEIGHTS, adv: 2 });
    for (const k of D_LOSS_TERMS) expect(val(half.terms[k])).toBeCloseTo(0.5, 6);
    expect(val(half.total)).toBeCloseTo(2 * 8 * 0.5, 5);
  });
});

describe('generatorLoss', () => {
  it('weights adversarial ×1, cycle ×10, identity ×10 and CAM ×1000 as the official code', () => {
    const real = tf.zeros([1, 4, 4, 3]);
    const off = tf.fill([1, 4, 4, 3], 0.1); // L1 = 0.1
    const cam0 = tf.zeros([1, 2]); // BCE(0, ·) = log 2
    const d = logits(0, 0); // MSE(0, 1) = 1
    const sut = generatorLoss({ realA: real, realB: real, fake: { GA: d, LA: d, GB: d, LB: d }, cycleA: off, cycleB: off, identityA: off, identityB: off, camA2B: cam0, camB2B: cam0, camB2A: cam0, camA2A: cam0 });
    expect(Object.keys(sut.terms)).toEqual([...G_LOSS_TERMS]);
    expect(val(sut.terms.G_ad_loss_GA)).toBeCloseTo(1, 6);
    expect(val(sut.terms.G_recon_loss_B)).toBeCloseTo(0.1, 6);
    expect(val(sut.terms.G_cam_loss_A)).toBeCloseTo(2 * Math.LN2, 5);
    // per domain: 4·1 + 10·0.1 + 10·0.1 + 1000·2·ln2
    expect(val(sut.total)).toBeCloseTo(2 * (4 + 1 + 1 + 2000 * Math.LN2), 2);
  });
});

/** torch.optim.Adam(weight_decay=wd) in double precision, one parameter vector. */
function torchAdamReference(p: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const x = [...p];
  grads.forEach((g, t0) => {
    const t = t0 + 1;
    for (let i = 0; i < x.length; i++) {
      const gi = g[i] + wd * x[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const denom = Math.sqrt(v[i]) / Math.sqrt(1 - b2 ** t) + eps;
      x[i] -= (lr / (1 - b1 ** t)) * (m[i] / denom);
    }
  });
  return x;
}

describe('CoupledAdam', () => {
  const start = [0.5, -1.5, 2, 0];
  const grads = [
    [0.1, -0.2, 0, 3],
    [0.05, 0.1, 0, -1],
    [-0.3, 0.2, 0, 0.5],
  ];

  it('matches torch Adam with coupled L2 weight decay (betas 0.5/0.999, wd 1e-4 by default)', () => {
    const w = tf.variable(tf.tensor(start));
    const sut = new CoupledAdam(new Map([['w', w]]));
    expect(sut.opts).toEqual({ beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 });
    for (const g of grads) {
      const gt = tf.tensor(g);
      sut.apply(new Map([['w', gt]]), 0.01);
      gt.dispose();
    }
    const want = torchAdamReference(start, grads, 0.01, 0.5, 0.999, 1e-8, 1e-4);
    const got = w.dataSync();
    want.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
    expect(sut.step).toBe(3);
    sut.dispose();
    w.dispose();
  });

  it('gives the same update with its moments kept in JS memory (hostState)', () => {
    const w = tf.variable(tf.tensor(start));
    const sut = new CoupledAdam(new Map([['w', w]]), { hostState: true });
    expect(sut.hostState).toBe(true);
    for (const g of grads) {
      const gt = tf.tensor(g);
      sut.apply(new Map([['w', gt]]), 0.01);
      gt.dispose();
    }
    const want = torchAdamReference(start, grads, 0.01, 0.5, 0.999, 1e-8, 1e-4);
    const got = w.dataSync();
    want.forEach((x, i) => expect(got[i]).toBeCloseTo(x, 6));
    const state = sut.getState();
    expect(state.step).toBe(3);
    expect(state.m.get('w')!.shape).toEqual([4]);
    sut.dispose();
    w.dispose();
  });

  it('moves a parameter with zero loss gradient through the decay term (coupled L2, not AdamW)', () => {
    const w = tf.variable(tf.tensor([2]));
    const sut = new CoupledAdam(new Map([['w', w]]), { weightDecay: 0.1 });
    const g = tf.tensor([0]);
    sut.apply(new Map([['w', g]]), 0.01);
    // g' = 0.1·2 → first Adam step moves by lr·sign(g') = 0.01
    expect(w.dataSync()[0]).toBeCloseTo(2 - 0.01, 6);
    g.dispose();
    sut.dispose();
    w.dispose();
  });

  it('continues identically after exporting and restoring its state', () => {
    const a = tf.variable(tf.tensor(start));
    const sut = new CoupledAdam(new Map([['w', a]]));
    const g0 = tf.tensor(grads[0]);
    const g1 = tf.tensor(grads[1]);
    const g2 = tf.tensor(grads[2]);
    sut.apply(new Map([['w', g0]]), 0.01);
    sut.apply(new Map([['w', g1]]), 0.01);
    const state = sut.getState();
    const b = tf.variable(tf.tensor(a.dataSync()));
    const restored = new CoupledAdam(new Map([['w', b]]));
    restored.setState(state);
    expect(restored.step).toBe(2);
    sut.apply(new Map([['w', g2]]), 0.01);
    restored.apply(new Map([['w', g2]]), 0.01);
    expect([...b.dataSync()]).toEqual([...a.dataSync()]);
    for (const t of [a, b, g0, g1, g2]) t.dispose();
    sut.dispose();
    restored.dispose();
  });

  it('refuses to step without a gradient for every parameter, and a state that does not fit', () => {
    const w = tf.variable(tf.tensor([1, 2]));
    const sut = new CoupledAdam(new Map([['w', w]]));
    expect(() => sut.apply(new Map(), 0.1)).toThrow(/no gradient for parameter w/);
    expect(() => sut.setState({ step: 1, m: new Map(), v: new Map() })).toThrow(/lacks w/);
    expect(() => sut.setState({ step: 1, m: new Map([['w', { shape: [3], data: new Float32Array(3) }]]), v: new Map() })).toThrow(/3 values/);
    sut.dispose();
    w.dispose();
  });
});

describe('linearDecayLr', () => {
  it('is constant for the first half, then falls linearly to 0 at the last step', () => {
    expect(linearDecayLr(1, 1e-4, 10)).toBe(1e-4);
    expect(linearDecayLr(5, 1e-4, 10)).toBe(1e-4);
    expect(linearDecayLr(6, 1e-4, 10)).toBeCloseTo(0.8e-4, 12);
    expect(linearDecayLr(9, 1e-4, 10)).toBeCloseTo(0.2e-4, 12);
    expect(linearDecayLr(10, 1e-4, 10)).toBe(0);
    expect(linearDecayLr(10, 1e-4, 10, false)).toBe(1e-4);
  });
});
