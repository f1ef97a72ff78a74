/**
 * U-GAT-IT's losses as the official PyTorch trainer computes them: LSGAN (MSE against 1/0) on the
 * patch and CAM logits of the global and local discriminators, L1 cycle and identity terms, and the
 * generator's CAM classifier trained with BCE-with-logits. Term names match the official variables
 * (`D_ad_loss_GA`, `G_cam_loss_B`, ...), so logs compare line by line with the reference.
 * All functions are tensor-in/tensor-out and meant to run inside tf.tidy or a gradient function.
 */
import * as tf from '@tensorflow/tfjs';

/** Loss weights; defaults are the official ones (adv 1, cycle 10, identity 10, cam 1000). */
export interface LossWeights {
  adv: number;
  cycle: number;
  identity: number;
  cam: number;
}

/** The official loss weights (main.py defaults, the paper's λ1..λ4). */
export const OFFICIAL_LOSS_WEIGHTS: Readonly<LossWeights> = Object.freeze({ adv: 1, cycle: 10, identity: 10, cam: 1000 });

/** mean((x − target)²): `nn.MSELoss` against a constant tensor of ones or zeros. */
export function mseLoss(x: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(x, target))) as tf.Scalar);
}

/** mean|x − y|: `nn.L1Loss`. */
export function l1Loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(x, y))) as tf.Scalar);
}

/**
 * `nn.BCEWithLogitsLoss` against a constant target, in the numerically stable form
 * max(x, 0) − x·t + log(1 + e^(−|x|)), averaged over all elements.
 */
export function bceWithLogitsLoss(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => {
    const stable = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(stable) as tf.Scalar;
  });
}

/** What a discriminator call contributes to a loss: its patch logits and its CAM logits. */
export interface DiscriminatorLogits {
  patch: tf.Tensor;
  camLogit: tf.Tensor;
}

/** The four discriminators' outputs for one kind of input. */
export interface FourDiscriminators<T> {
  GA: T;
  LA: T;
  GB: T;
  LB: T;
}

/** Names of the discriminator-step loss terms, in the official order. */
export const D_LOSS_TERMS = [
  'D_ad_loss_GA',
  'D_ad_cam_loss_GA',
  'D_ad_loss_LA',
  'D_ad_cam_loss_LA',
  'D_ad_loss_GB',
  'D_ad_cam_loss_GB',
  'D_ad_loss_LB',
  'D_ad_cam_loss_LB',
] as const;

/** Names of the generator-step loss terms, in the official order. */
export const G_LOSS_TERMS = [
  'G_ad_loss_GA',
  'G_ad_cam_loss_GA',
  'G_ad_loss_LA',
  'G_ad_cam_loss_LA',
  'G_ad_loss_GB',
  'G_ad_cam_loss_GB',
  'G_ad_loss_LB',
  'G_ad_cam_loss_LB',
  'G_recon_loss_A',
  'G_recon_loss_B',
  'G_identity_loss_A',
  'G_identity_loss_B',
  'G_cam_loss_A',
  'G_cam_loss_B',
] as const;

export type DLossTerm = (typeof D_LOSS_TERMS)[number];
export type GLossTerm = (typeof G_LOSS_TERMS)[number];

/**
 * The discriminator loss: for each of GA, LA (real = a, fake = G_BA(b)) and GB, LB (real = b,
 * fake = G_AB(a)), MSE(real patch, 1) + MSE(fake patch, 0) and the same on the CAM logits.
 * Returns every term and `Discriminator_loss` = adv · Σ terms.
 */
export function discriminatorLoss(
  real: FourDiscriminators<DiscriminatorLogits>,
  fake: FourDiscriminators<DiscriminatorLogits>,
  w: LossWeights = OFFICIAL_LOSS_WEIGHTS,
): { terms: Record<DLossTerm, tf.Scalar>; total: tf.Scalar } {
  const terms = {} as Record<DLossTerm, tf.Scalar>;
  for (const d of ['GA', 'LA', 'GB', 'LB'] as const) {
    terms[`D_ad_loss_${d}`] = tf.add(mseLoss(real[d].patch, 1), mseLoss(fake[d].patch, 0)) as tf.Scalar;
    terms[`D_ad_cam_loss_${d}`] = tf.add(mseLoss(real[d].camLogit, 1), mseLoss(fake[d].camLogit, 0)) as tf.Scalar;
  }
  const total = tf.mul(tf.addN(D_LOSS_TERMS.map((k) => terms[k])), w.adv) as tf.Scalar;
  return { terms, total };
}

/** The tensors the generator loss needs. */
export interface GeneratorLossInputs {
  realA: tf.Tensor;
  realB: tf.Tensor;
  /** Discriminator outputs on the fakes: GA/LA on G_BA(b), GB/LB on G_AB(a). */
  fake: FourDiscriminators<DiscriminatorLogits>;
  /** G_BA(G_AB(a)) and G_AB(G_BA(b)). */
  cycleA: tf.Tensor;
  cycleB: tf.Tensor;
  /** G_BA(a) and G_AB(b). */
  identityA: tf.Tensor;
  identityB: tf.Tensor;
  /** Generator CAM logits: G_AB(a), G_AB(b), G_BA(b), G_BA(a). */
  camA2B: tf.Tensor;
  camB2B: tf.Tensor;
  camB2A: tf.Tensor;
  camA2A: tf.Tensor;
}

/** What one domain's half of the generator loss needs (X = A or B). */
export interface GeneratorSideInputs {
  /** real_X */
  real: tf.Tensor;
  /** Global and local discriminator of domain X on fake_X (G_BA(b) for A, G_AB(a) for B). */
  fakeG: DiscriminatorLogits;
  fakeL: DiscriminatorLogits;
  /** cycle_X: G_BA(G_AB(a)) for A, G_AB(G_BA(b)) for B. */
  cycle: tf.Tensor;
  /** identity_X: G_BA(a) for A, G_AB(b) for B. */
  identity: tf.Tensor;
  /** CAM logits of the generator that outputs domain X, on the other domain (label 1) and on X itself (label 0). */
  camFromOther: tf.Tensor;
  camFromSelf: tf.Tensor;
}

/** The seven terms of one side, keyed without the domain suffix. */
function sideTerms(s: 'A' | 'B', x: GeneratorSideInputs): Partial<Record<GLossTerm, tf.Scalar>> {
  return {
    [`G_ad_loss_G${s}`]: mseLoss(x.fakeG.patch, 1),
    [`G_ad_cam_loss_G${s}`]: mseLoss(x.fakeG.camLogit, 1),
    [`G_ad_loss_L${s}`]: mseLoss(x.fakeL.patch, 1),
    [`G_ad_cam_loss_L${s}`]: mseLoss(x.fakeL.camLogit, 1),
    [`G_recon_loss_${s}`]: l1Loss(x.cycle, x.real),
    [`G_identity_loss_${s}`]: l1Loss(x.identity, x.real),
    [`G_cam_loss_${s}`]: tf.add(bceWithLogitsLoss(x.camFromOther, 1), bceWithLogitsLoss(x.camFromSelf, 0)) as tf.Scalar,
  };
}

function sideTotal(s: 'A' | 'B', t: Partial<Record<GLossTerm, tf.Scalar>>, w: LossWeights): tf.Scalar {
  return tf.addN([
    tf.mul(tf.addN([t[`G_ad_loss_G${s}`]!, t[`G_ad_cam_loss_G${s}`]!, t[`G_ad_loss_L${s}`]!, t[`G_ad_cam_loss_L${s}`]!]), w.adv),
    tf.mul(t[`G_recon_loss_${s}`]!, w.cycle),
    tf.mul(t[`G_identity_loss_${s}`]!, w.identity),
    tf.mul(t[`G_cam_loss_${s}`]!, w.cam),
  ]) as tf.Scalar;
}

/**
 * One domain's half of the generator loss, `G_loss_X` of the official code:
 * adv·[MSE(p_GX,1) + MSE(q_GX,1) + MSE(p_LX,1) + MSE(q_LX,1)] + cycle·L1 + identity·L1 + cam·CAM_X.
 * Returns its seven terms (official names) and the half total.
 */
export function generatorLossSide(
  side: 'A' | 'B',
  x: GeneratorSideInputs,
  w: LossWeights = OFFICIAL_LOSS_WEIGHTS,
): { terms: Partial<Record<GLossTerm, tf.Scalar>>; total: tf.Scalar } {
  const terms = sideTerms(side, x);
  return { terms, total: sideTotal(side, terms, w) };
}

/**
 * The generator loss: adversarial MSE(·, 1) on the four discriminators' fake outputs, cycle and
 * identity L1, and the CAM BCE (source-domain logits → 1, target-domain → 0). Returns every term and
 * `Generator_loss` = G_loss_A + G_loss_B as grouped by the official code.
 */
export function generatorLoss(x: GeneratorLossInputs, w: LossWeights = OFFICIAL_LOSS_WEIGHTS): { terms: Record<GLossTerm, tf.Scalar>; total: tf.Scalar } {
  const a = generatorLossSide('A', { real: x.realA, fakeG: x.fake.GA, fakeL: x.fake.LA, cycle: x.cycleA, identity: x.identityA, camFromOther: x.camB2A, camFromSelf: x.camA2A }, w);
  const b = generatorLossSide('B', { real: x.realB, fakeG: x.fake.GB, fakeL: x.fake.LB, cycle: x.cycleB, identity: x.identityB, camFromOther: x.camA2B, camFromSelf: x.camB2B }, w);
  const terms = {} as Record<GLossTerm, tf.Scalar>;
  for (const k of G_LOSS_TERMS) terms[k] = (a.terms[k] ?? b.terms[k])!;
  return { terms, total: tf.add(a.total, b.total) as tf.Scalar };
}
