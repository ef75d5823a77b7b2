import * as tf from '@tensorflow/tfjs-core';
import { CbirError } from '../errors.js';

/** Options of {@link Adam}: PyTorch's `torch.optim.Adam` defaults except the learning rate, which is the notebook's. */
export interface AdamOptions {
  /** Learning rate. @defaultValue 3e-4 (the notebook's) */
  lr?: number;
  /** Decay of the first moment (the gradient's running mean). @defaultValue 0.9 */
  beta1?: number;
  /** Decay of the second moment (the squared gradient's running mean). @defaultValue 0.999 */
  beta2?: number;
  /** Added to the second moment's square root in the denominator. @defaultValue 1e-8 (PyTorch's; tfjs's Adam would take the backend's epsilon, 1e-7) */
  eps?: number;
}

/** Adam's step count and moments, one array per parameter in the model's weight order (tfjs layouts). */
export interface AdamState {
  /** Steps taken (PyTorch's `state[p]['step']`). */
  step: number;
  /** First moments (`exp_avg`); empty before the first step. */
  m: Float32Array[];
  /** Second moments (`exp_avg_sq`); empty before the first step. */
  v: Float32Array[];
}

/** Adam's hyperparameters and state: everything needed to continue an optimisation where it stopped. */
export interface AdamSnapshot {
  options: Required<AdamOptions>;
  state: AdamState;
}

/**
 * Adam with exactly PyTorch's update, in the same order of float32 operations:
 * `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`, `p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`.
 * Its state (step and moments) can be read and restored, so training resumes where it stopped.
 *
 * @remarks Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
 *
 * @example
 * ```ts
 * const adam = new Adam({ lr: 3e-4 });
 * adam.apply(params, grads);       // params: tf.Variable[], grads: tf.Tensor[] in the same order
 * const saved = adam.getState();   // later: adam.setState(saved)
 * ```
 */
export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Number of steps taken. */
  step = 0;
  private m: tf.Tensor[] = [];
  private v: tf.Tensor[] = [];

  constructor(options: AdamOptions = {}) {
    this.lr = options.lr ?? 3e-4;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
  }

  /**
   * An Adam that continues `snapshot` (its hyperparameters, step and moments), e.g. a notebook checkpoint's
   * `optimizer_state_dict` as {@link loadTorchWeights} imports it.
   *
   * @param shapes - The parameters' shapes, in order (the moments' shapes).
   * @example
   * ```ts
   * const { optimizer } = loadTorchWeights(ae, await readFile('ckpt_epoch_4.pt'));
   * const adam = Adam.restore(optimizer!, ae.model.trainableWeights.map((w) => w.shape as number[]));
   * ```
   */
  static restore(snapshot: AdamSnapshot, shapes: number[][]): Adam {
    const adam = new Adam(snapshot.options);
    adam.setState(snapshot.state, shapes);
    return adam;
  }

  /** The hyperparameters and state, for checkpoints ({@link Adam.restore} reverses it). */
  snapshot(): AdamSnapshot {
    return { options: { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps }, state: this.getState() };
  }

  /** Applies one update to `params` given their gradients (same order). Disposes nothing it does not own. */
  apply(params: tf.Variable[], grads: tf.Tensor[]): void {
    if (this.m.length === 0) {
      this.m = params.map((p) => tf.keep(tf.zerosLike(p)));
      this.v = params.map((p) => tf.keep(tf.zerosLike(p)));
    }
    this.step++;
    const bc1 = 1 - this.beta1 ** this.step;
    const bc2 = 1 - this.beta2 ** this.step;
    tf.tidy(() => {
      params.forEach((p, i) => {
        const g = grads[i];
        const m = tf.add(tf.mul(this.m[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i], this.beta2), tf.mul(tf.mul(g, g), 1 - this.beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), this.lr / bc1)));
        this.m[i].dispose();
        this.v[i].dispose();
        this.m[i] = tf.keep(m);
        this.v[i] = tf.keep(v);
      });
    });
  }

  /**
   * The moments as float32 arrays (empty before the first step), for checkpoints, read synchronously: use
   * {@link Adam.readState} on backends that cannot (WebGPU in Node).
   */
  getState(): AdamState {
    return {
      step: this.step,
      m: this.m.map((t) => t.dataSync() as Float32Array),
      v: this.v.map((t) => t.dataSync() as Float32Array),
    };
  }

  /**
   * {@link Adam.getState}, read asynchronously: works on every backend.
   *
   * @example
   * ```ts
   * const state = await adam.readState();   // { step, m: Float32Array[], v: Float32Array[] }
   * ```
   */
  async readState(): Promise<AdamState> {
    const read = (list: tf.Tensor[]) => Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  /** Restores {@link Adam.getState}'s output; `shapes` are the parameters' shapes, in order. */
  setState(state: AdamState, shapes: number[][]): void {
    if (state.m.length !== state.v.length || (state.m.length > 0 && state.m.length !== shapes.length)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `Adam.setState: the state has ${state.m.length} first and ${state.v.length} second moments for ${shapes.length} parameters.`,
      );
    }
    state.m.forEach((d, i) => {
      const n = shapes[i].reduce((a, b) => a * b, 1);
      if (d.length !== n || state.v[i].length !== n) {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `Adam.setState: parameter ${i} has shape [${shapes[i].join(', ')}] (${n} values), its moments hold ${d.length} and ${state.v[i].length}.`,
        );
      }
    });
    this.dispose();
    this.step = state.step;
    this.m = state.m.map((d, i) => tf.keep(tf.tensor(d, shapes[i])));
    this.v = state.v.map((d, i) => tf.keep(tf.tensor(d, shapes[i])));
  }

  /** Releases the moments. */
  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
    this.m = [];
    this.v = [];
  }
}
