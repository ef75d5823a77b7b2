import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, ConvAutoencoder, ConvAutoencoderV2, loadTorchWeights, mseGradients, type Autoencoder } from 'cbir-core';
import { readSafetensors } from 'cbir-core/io';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { useBackend, type BACKENDS } from './backends.js';
import { fixtureBytes, fixtureJson, fixtureNpy, maxAbsDiff } from './fixtures.js';
import { formulaSafetensors } from './formula-weights.js';

/** The PyTorch training-step fixtures' manifest (scripts/fixtures/make_training_fixtures.py). */
export interface TrainingManifest {
  v1: { size: number; batch: number; losses: number[] };
  v2: { size: number; batch: number; keys: string[]; losses: number[] };
}
export const trainingManifest = fixtureJson<TrainingManifest>('training/manifest.json');

/** The model's weights (or gradients, same order) in PyTorch names and layouts, read asynchronously (any backend). */
export async function torchLayout(model: Autoencoder, tensors: tf.Tensor[]): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  const names = [...model.convLayers.keys()];
  for (let i = 0; i < names.length; i++) {
    const [k, b] = [tensors[2 * i], tensors[2 * i + 1]];
    const t = tf.transpose(k, [3, 2, 0, 1]);
    out.set(`${names[i]}.weight`, (await t.data()) as Float32Array);
    t.dispose();
    out.set(`${names[i]}.bias`, (await b.data()) as Float32Array);
  }
  return out;
}

/** Every tensor of the safetensors fixture `file` (those in `keys` when given) within 1e-4 of `got`, relative to its largest value. */
export function expectMatches(got: Map<string, Float32Array>, file: string, keys?: string[], tolerance = 1e-4): void {
  const want = readSafetensors(fixtureBytes(file)).tensors;
  for (const [k, t] of want) {
    if (keys && !keys.includes(k)) continue;
    const ref = t.toFloat32();
    const scale = Math.max(1e-3, ...Array.from(ref, Math.abs));
    expect(maxAbsDiff(got.get(k)!, ref) / scale, `${file}: ${k}`).toBeLessThanOrEqual(tolerance);
  }
}

/** The models of the training fixtures: V1 at 68 px with the model fixture's weights, V2 at 32 px with the formula's. */
export const PARITY_MODELS = {
  v1: () => {
    const ae = new ConvAutoencoder({ inputSize: trainingManifest.v1.size });
    loadTorchWeights(ae, fixtureBytes('models/v1.safetensors'));
    return ae;
  },
  v2: () => {
    const ae = new ConvAutoencoderV2({ inputSize: trainingManifest.v2.size });
    loadTorchWeights(ae, formulaSafetensors(ae));
    return ae;
  },
} as const;

/**
 * Trains the fixture's model on its batch for `steps` Adam steps (lr 3e-4), `microBatch` images per pass, and checks
 * against PyTorch's batch step (the notebook's loop): the loss of every step (1e-5 relative), the first gradients
 * and the parameters after steps 1 and 10 (1e-4 of the largest value), and that only Adam's moments stay behind.
 * Reads only asynchronously, so it runs on every backend.
 */
export async function checkTrainingParity(
  tag: keyof typeof PARITY_MODELS,
  options: { steps: number; microBatch?: number },
): Promise<void> {
  const ae = PARITY_MODELS[tag]();
  const keys = tag === 'v2' ? trainingManifest.v2.keys : undefined;
  const input = fixtureNpy(`training/${tag}-input.npy`);
  const x = tf.tensor4d(input.data as Float32Array, input.shape as [number, number, number, number]);
  const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new Adam({ lr: 3e-4 });
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  for (let step = 1; step <= options.steps; step++) {
    const { loss, grads } = mseGradients(ae, x, { vars, microBatch: options.microBatch });
    losses.push((await loss.data())[0]);
    if (step === 1) expectMatches(await torchLayout(ae, grads), `training/${tag}-grads.safetensors`, keys);
    adam.apply(vars, grads);
    tf.dispose([loss, ...grads]);
    if (step === 1 || step === 10)
      expectMatches(await torchLayout(ae, vars), `training/${tag}-params-${step}.safetensors`, keys);
    if (step === 1) expect(tf.memory().numTensors).toBe(before + 2 * vars.length); // Adam's moments, nothing else
    // The event loop turns between steps: no synchronous stretch may outlast vitest's 60 s worker RPC timeout.
    await new Promise((r) => setTimeout(r, 0));
  }
  const ref = trainingManifest[tag].losses;
  losses.forEach((l, i) => expect(Math.abs(l - ref[i]) / ref[i], `loss ${i + 1}`).toBeLessThanOrEqual(1e-5));
  adam.dispose();
  x.dispose();
  ae.dispose();
}

/**
 * The training step against PyTorch's on `backend`: V1 and V2 (1 and 10 Adam steps), and V1 in micro-batches of 1 and
 * 3 against PyTorch's whole batch-4 step. The unit suite runs it on wasm; the integration suite on cpu, where tfjs
 * needs ~10 s per V2 gradient (there V2 checks one step, and the whole block takes minutes).
 */
export function describeTrainingParity(backend: (typeof BACKENDS)[number]): void {
  describe(`training step parity with PyTorch on ${backend}`, () => {
    beforeAll(async () => {
      registerWasmTrainingKernels();
      await useBackend(backend);
    });
    afterAll(() => useBackend('cpu'));

    it.each(['v1', 'v2'] as const)('%s: loss, gradients, and parameters after 1 and 10 Adam steps', (tag) =>
      checkTrainingParity(tag, { steps: tag === 'v2' && backend === 'cpu' ? 1 : 10 }),
    );

    // PyTorch's fixture is one step of the whole batch (V1: 4 images); cbir's micro-batches must give that step.
    it.each([1, 3])(
      "v1 in micro-batches of %i: PyTorch's batch-4 step, loss, gradients and 10 steps' parameters",
      (microBatch) => checkTrainingParity('v1', { steps: 10, microBatch }),
    );
  });
}
