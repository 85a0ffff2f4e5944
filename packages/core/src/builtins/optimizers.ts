import { Type } from '@sinclair/typebox';
import * as tf from '@tensorflow/tfjs-core';
import { API_VERSION, type Optimizer, type OptimizerInstance, type TensorMap } from '../contracts.js';
import { ownedVariable } from '../train.js';
import { CORE_VERSION } from './version.js';

const meta = (name: string, description: string) => ({ name, version: CORE_VERSION, apiVersion: API_VERSION, description });

/**
 * Kernel names a backend may register to fuse an optimizer update into one pass. Inputs and
 * attributes are documented on each optimizer; the result must equal the composed ops below.
 */
export const FUSED_KERNELS = { adam: 'LthAdamUpdate', sgd: 'LthSgdUpdate' } as const;

const fused = (kernel: string) => tf.getKernel(kernel, tf.getBackend()) !== undefined;

/** Per-weight optimizer slots (moments, velocity), kept as variables so updates are in place. */
class Slots {
  readonly vars = new Map<string, tf.Variable>();
  private readonly ones = new Map<string, tf.Tensor>();

  constructor(
    private readonly prefix: string,
    initial?: TensorMap,
  ) {
    for (const [key, t] of Object.entries(initial ?? {})) {
      if (key.startsWith(`${prefix}/`)) this.vars.set(key.slice(prefix.length + 1), ownedVariable(t.clone(), false));
    }
  }

  get(name: string, like: tf.Tensor): tf.Variable {
    let v = this.vars.get(name);
    if (!v) {
      v = ownedVariable(tf.zerosLike(like), false);
      this.vars.set(name, v);
    }
    return v;
  }

  /** A mask for weights that are not pruned (the fused kernels always take one). */
  onesLike(name: string, like: tf.Tensor): tf.Tensor {
    let t = this.ones.get(name);
    if (!t) {
      t = tf.keep(tf.onesLike(like));
      this.ones.set(name, t);
    }
    return t;
  }

  state(out: TensorMap): void {
    for (const [name, v] of this.vars) out[`${this.prefix}/${name}`] = v.clone();
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    for (const t of this.ones.values()) t.dispose();
    this.vars.clear();
    this.ones.clear();
  }
}

export interface AdamOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/**
 * Adam as in PyTorch (L2 weight decay added to the gradient). With a mask, the gradient, both
 * moments and the weight are multiplied by it, so pruned weights and their moments stay 0.
 * Fused kernel `LthAdamUpdate`: inputs { weight, grad, m, v, mask }, attrs
 * { lr, beta1, beta2, epsilon, step (1-based), weightDecay, name } → [weight', m', v'].
 * `name` (the weight's name) only labels the update, e.g. in a backend's report of which
 * kernel path each weight took; it never changes the result.
 */
export const adam: Optimizer<AdamOptions> = {
  meta: meta('adam', 'Adam (Kingma & Ba), masked'),
  optionsSchema: Type.Object({
    beta1: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Decay of the first moment.' }),
    beta2: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Decay of the second moment.' }),
    epsilon: Type.Number({ exclusiveMinimum: 0, description: 'Added to the denominator.' }),
    weightDecay: Type.Number({ minimum: 0, description: 'L2 penalty coefficient added to the gradient.' }),
  }),
  defaults: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  create(o, initial): OptimizerInstance {
    const m = new Slots('m', initial);
    const v = new Slots('v', initial);
    let step = initial?.step ? Math.round(initial.step.dataSync()[0]) : 0;
    return {
      step(weights, grads, lr, masks) {
        step += 1;
        const useFused = fused(FUSED_KERNELS.adam);
        for (const [name, w] of Object.entries(weights)) {
          const g = grads[name];
          if (!g) continue;
          const mv = m.get(name, w);
          const vv = v.get(name, w);
          const mask = masks[name];
          tf.tidy(() => {
            if (useFused) {
              const [w2, m2, v2] = tf.engine().runKernel(
                FUSED_KERNELS.adam,
                { weight: w, grad: g, m: mv, v: vv, mask: mask ?? m.onesLike(name, w) },
                { lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, step, weightDecay: o.weightDecay, name },
              ) as tf.Tensor[];
              w.assign(w2);
              mv.assign(m2);
              vv.assign(v2);
              return;
            }
            let grad = o.weightDecay ? tf.add(g, tf.mul(w, o.weightDecay)) : g;
            if (mask) grad = tf.mul(grad, mask);
            let m2 = tf.add(tf.mul(mv, o.beta1), tf.mul(grad, 1 - o.beta1));
            let v2 = tf.add(tf.mul(vv, o.beta2), tf.mul(tf.square(grad), 1 - o.beta2));
            if (mask) {
              m2 = tf.mul(m2, mask);
              v2 = tf.mul(v2, mask);
            }
            const mHat = tf.div(m2, 1 - o.beta1 ** step);
            const vHat = tf.div(v2, 1 - o.beta2 ** step);
            let w2 = tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), o.epsilon)), lr));
            if (mask) w2 = tf.mul(w2, mask);
            w.assign(w2);
            mv.assign(m2);
            vv.assign(v2);
          });
        }
      },
      state() {
        const out: TensorMap = { step: tf.scalar(step) };
        m.state(out);
        v.state(out);
        return out;
      },
      dispose() {
        m.dispose();
        v.dispose();
      },
    };
  },
};

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

/**
 * SGD with (heavy-ball) momentum as in PyTorch: vel ← μ·vel + g; w ← w − lr·vel; masked.
 * Fused kernel `LthSgdUpdate`: inputs { weight, grad, velocity, mask }, attrs
 * { lr, momentum, weightDecay, name } → [weight', velocity'] (`name` as for Adam).
 */
export const sgd: Optimizer<SgdOptions> = {
  meta: meta('sgd', 'stochastic gradient descent with momentum, masked'),
  optionsSchema: Type.Object({
    momentum: Type.Number({ minimum: 0, exclusiveMaximum: 1, description: 'Momentum μ (0 = plain SGD).' }),
    weightDecay: Type.Number({ minimum: 0, description: 'L2 penalty coefficient added to the gradient.' }),
  }),
  defaults: { momentum: 0, weightDecay: 0 },
  create(o, initial): OptimizerInstance {
    const vel = new Slots('velocity', initial);
    return {
      step(weights, grads, lr, masks) {
        const useFused = fused(FUSED_KERNELS.sgd);
        for (const [name, w] of Object.entries(weights)) {
          const g = grads[name];
          if (!g) continue;
          const vv = vel.get(name, w);
          const mask = masks[name];
          tf.tidy(() => {
            if (useFused) {
              const [w2, v2] = tf.engine().runKernel(
                FUSED_KERNELS.sgd,
                { weight: w, grad: g, velocity: vv, mask: mask ?? vel.onesLike(name, w) },
                { lr, momentum: o.momentum, weightDecay: o.weightDecay, name },
              ) as tf.Tensor[];
              w.assign(w2);
              vv.assign(v2);
              return;
            }
            let grad = o.weightDecay ? tf.add(g, tf.mul(w, o.weightDecay)) : g;
            if (mask) grad = tf.mul(grad, mask);
            let v2 = o.momentum ? tf.add(tf.mul(vv, o.momentum), grad) : grad;
            if (mask && o.momentum) v2 = tf.mul(v2, mask);
            let w2 = tf.sub(w, tf.mul(v2, lr));
            if (mask) w2 = tf.mul(w2, mask);
            w.assign(w2);
            vv.assign(v2);
          });
        }
      },
      state() {
        const out: TensorMap = {};
        vel.state(out);
        return out;
      },
      dispose() {
        vel.dispose();
      },
    };
  },
};
