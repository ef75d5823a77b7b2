import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  ConvAutoencoder,
  ConvAutoencoderV2,
  FormatError,
  NonFiniteError,
  WeightsMismatchError,
  exportTorchCheckpoint,
  exportTorchWeights,
  loadTorchWeights,
  mseGradients,
} from 'cbir-core';
import { TorchTensor, orderedDict, readSafetensors, writeSafetensors, writeTorchFile } from 'cbir-core/io';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { fixtureBytes, fixtureJson, fixtureNpy, maxAbsDiff } from '../helpers/fixtures.js';
import { parityAgainstFiles } from '../helpers/parity.js';

const v1Safetensors = () => fixtureBytes('models/v1.safetensors');

/** The V1 fixture's tensors, to edit into broken files. */
function v1Tensors(): Map<string, { shape: number[]; data: Float32Array }> {
  const { tensors } = readSafetensors(v1Safetensors());
  return new Map([...tensors].map(([k, t]) => [k, { shape: [...t.shape], data: t.toFloat32() }]));
}

describe('loadTorchWeights', () => {
  beforeAll(() => useBackend('cpu'));

  it('reads the three formats to the same weights', () => {
    const weightsOf = (file: string) => {
      const ae = new ConvAutoencoder({ inputSize: 68 });
      const info = loadTorchWeights(ae, fixtureBytes(`models/${file}`));
      const w = ae.model.getWeights().map((t) => Array.from(t.dataSync()));
      ae.dispose();
      return { info, w };
    };
    const a = weightsOf('v1.safetensors');
    const b = weightsOf('v1-state-dict.pth');
    const c = weightsOf('v1-checkpoint.pth');
    expect(a.info.format).toBe('safetensors');
    expect(b.info.format).toBe('torch-state-dict');
    expect(c.info.format).toBe('torch-checkpoint');
    expect(a.info.loaded).toHaveLength(10);
    expect(b.w).toEqual(a.w);
    expect(c.w).toEqual(a.w);
  });

  it("exposes the checkpoint's epoch, loss and Adam state", () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const info = loadTorchWeights(ae, fixtureBytes('models/v1-checkpoint.pth'));
    expect(info.epoch).toBe(7);
    expect(info.loss).toBeCloseTo(0.0123, 12);
    const opt = info.extra.get('optimizer_state_dict') as Map<string, unknown>;
    const groups = opt.get('param_groups') as Map<string, unknown>[];
    expect(groups[0].get('lr')).toBe(3e-4);
    expect(groups[0].get('betas')).toEqual([0.9, 0.999]);
    expect(groups[0].get('params')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const state0 = (opt.get('state') as Map<number, Map<string, TorchTensor>>).get(0)!;
    expect(state0.get('step')!.toFloat32()[0]).toBe(1);
    expect(state0.get('exp_avg')!.shape).toEqual([16, 3, 3, 3]);
    ae.dispose();
  });

  it('round-trips through exportTorchWeights to the same bytes of weights', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    loadTorchWeights(ae, v1Safetensors());
    const exported = readSafetensors(exportTorchWeights(ae)).tensors;
    const original = readSafetensors(v1Safetensors()).tensors;
    expect([...exported.keys()]).toEqual([...original.keys()]);
    for (const [k, t] of original) {
      expect(exported.get(k)!.shape).toEqual(t.shape);
      expect(maxAbsDiff(exported.get(k)!.toFloat32(), t.toFloat32())).toBe(0);
    }
    ae.dispose();
  });

  it('lists every missing key, unexpected key and shape mismatch in one error', () => {
    const tensors = v1Tensors();
    tensors.delete('decoder.4.bias');
    tensors.set('decoder.9.weight', { shape: [1], data: new Float32Array(1) });
    tensors.set('encoder.0.bias', { shape: [15], data: new Float32Array(15) });
    const ae = new ConvAutoencoder({ inputSize: 68 });
    let error: unknown;
    try {
      loadTorchWeights(ae, writeSafetensors(tensors), { source: 'broken.safetensors' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const problems = (error as WeightsMismatchError).problems;
    expect(problems).toEqual([
      'missing key "decoder.4.bias"',
      'unexpected key "decoder.9.weight"',
      '"encoder.0.bias" has shape [15], the model expects [16]',
    ]);
    expect((error as Error).message).toMatch(/broken\.safetensors does not match ConvAutoencoder/);
    ae.dispose();
  });

  it('rejects V1 weights for V2 with a WeightsMismatchError, not a crash', () => {
    const ae = new ConvAutoencoderV2({ inputSize: 32 });
    expect(() => loadTorchWeights(ae, v1Safetensors())).toThrow(WeightsMismatchError);
    ae.dispose();
  });

  it('rejects bytes that are neither format, a truncated zip and a pickle with an unsupported opcode', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    expect(() => loadTorchWeights(ae, new TextEncoder().encode('hello world, not weights'))).toThrow(FormatError);
    expect(() => loadTorchWeights(ae, new TextEncoder().encode('hello world, not weights'))).toThrow(
      /neither a safetensors file nor a torch\.save zip/,
    );
    const checkpoint = fixtureBytes('models/v1-checkpoint.pth');
    for (const cut of [100, checkpoint.length / 2, checkpoint.length - 10]) {
      expect(() => loadTorchWeights(ae, checkpoint.subarray(0, Math.floor(cut)), { source: 'cut.pth' })).toThrow(
        FormatError,
      );
    }
    expect(() => loadTorchWeights(ae, fixtureBytes('models/unsupported-opcode.pth'))).toThrow(
      /pickle opcode 0x70 \("p"\) at byte 2/,
    );
    const st = v1Safetensors();
    expect(() => loadTorchWeights(ae, st.subarray(0, st.length - 100))).toThrow(/truncated or corrupted/);
    ae.dispose();
  });

  it('detects a flipped byte in a torch.save archive by its CRC', () => {
    const bytes = fixtureBytes('models/v1-state-dict.pth').slice();
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const at = bytes.length - 2000; // inside a tensor storage
    bytes[at] ^= 0xff;
    expect(() => loadTorchWeights(ae, bytes)).toThrow(/CRC-32/);
    ae.dispose();
  });

  it('refuses NaN or infinite weights by name and loads nothing (an all-NaN safetensors included)', () => {
    const ae = new ConvAutoencoder({ inputSize: 68, seed: 4 });
    const before = ae.model.getWeights().map((t) => Array.from(t.dataSync()));
    const allNan = new Map(
      [...v1Tensors()].map(([k, t]) => [k, { shape: t.shape, data: new Float32Array(t.data.length).fill(NaN) }]),
    );
    expect(() => loadTorchWeights(ae, writeSafetensors(allNan))).toThrow(NonFiniteError);
    expect(() => loadTorchWeights(ae, writeSafetensors(allNan))).toThrow(
      /has NaN in "encoder\.0\.weight" at index 0 \(every value is NaN\)/,
    );
    const oneInf = v1Tensors();
    const last = [...oneInf.keys()].at(-1)!;
    oneInf.get(last)!.data[1] = Infinity;
    expect(() => loadTorchWeights(ae, writeSafetensors(oneInf))).toThrow(
      new RegExp(`Infinity in "${last.replace('.', '\\.')}" at index 1`),
    );
    // Nothing was written: not even the keys before the bad one.
    expect(ae.model.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(before);
    ae.dispose();
  });

  it('does not leak tensors', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const before = tf.memory().numTensors;
    loadTorchWeights(ae, v1Safetensors());
    exportTorchWeights(ae);
    expect(tf.memory().numTensors).toBe(before);
    ae.dispose();
  });
});

interface CheckpointManifest {
  steps: number;
  models: Record<'v1' | 'v2', { size: number; trainSize: number; losses: number[]; kept: string[] }>;
}
const ckptManifest = fixtureJson<CheckpointManifest>('checkpoints/manifest.json');
const MODELS = {
  v1: (inputSize: number) => new ConvAutoencoder({ inputSize }),
  v2: (inputSize: number) => new ConvAutoencoderV2({ inputSize }),
};
const FORMS = [
  ['checkpoint', 'torch-checkpoint'],
  ['epoch-checkpoint', 'torch-epoch-checkpoint'],
  ['state-dict', 'torch-state-dict'],
] as const;
/** A notebook file of the checkpoint fixtures (V2's are gzipped: 13 MB of weights a copy). */
const notebookFile = (tag: 'v1' | 'v2', form: string) =>
  tag === 'v2'
    ? new Uint8Array(gunzipSync(fixtureBytes(`checkpoints/v2-${form}.pt.gz`)))
    : fixtureBytes(`checkpoints/v1-${form}.pt`);
const tensor4d = (path: string) => {
  const a = fixtureNpy(path);
  return tf.tensor4d(a.data as Float32Array, a.shape as [number, number, number, number]);
};

describe.each(['v1', 'v2'] as const)("the notebook's %s checkpoints", (tag) => {
  const { size, trainSize, losses, kept } = ckptManifest.models[tag];
  beforeAll(() => {
    registerWasmTrainingKernels();
    return useBackend('cpu');
  });

  it('load in every layout the notebook writes, to the same weights, with their entries', () => {
    const weights: number[][][] = [];
    for (const [form, format] of FORMS) {
      const ae = MODELS[tag](size);
      const info = loadTorchWeights(ae, notebookFile(tag, form), { source: form });
      expect(info.format).toBe(format);
      expect(info.loaded).toHaveLength(tag === 'v1' ? 10 : 28);
      expect(info.missingKeys).toEqual([]);
      expect(info.unexpectedKeys).toEqual([]);
      expect(info.problems).toEqual([]);
      if (form === 'checkpoint') expect([info.epoch, info.loss, info.bestLoss]).toEqual([150, 0.0123, undefined]);
      if (form === 'epoch-checkpoint') expect([info.epoch, info.loss, info.bestLoss]).toEqual([4, undefined, 0.0117]);
      expect(info.optimizer === undefined).toBe(form === 'state-dict');
      weights.push(ae.model.getWeights().map((t) => Array.from(t.dataSync())));
      ae.dispose();
    }
    expect(weights[1]).toEqual(weights[0]);
    expect(weights[2]).toEqual(weights[0]);
  });

  it.each(BACKENDS)("give PyTorch's latent and reconstruction within 1e-4 on %s", async (backend) => {
    await useBackend(backend);
    const ae = MODELS[tag](size);
    const diff = await parityAgainstFiles(ae, notebookFile(tag, 'checkpoint'), `checkpoints/${tag}`);
    expect(diff.latent).toBeLessThanOrEqual(1e-4);
    expect(diff.recon).toBeLessThanOrEqual(1e-4);
    ae.dispose();
    await useBackend('cpu');
  });

  // V2's training step takes seconds on tfjs's cpu backend: it runs on wasm, the backend cbir trains on.
  it(`import Adam's state, so ${ckptManifest.steps} steps in cbir equal ${ckptManifest.steps} steps of the notebook's loop`, async () => {
    if (tag === 'v2') await useBackend('wasm');
    const ae = MODELS[tag](trainSize);
    const before = tf.memory().numTensors;
    const { optimizer } = loadTorchWeights(ae, notebookFile(tag, 'epoch-checkpoint'));
    expect(optimizer!.options).toEqual({ lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    expect(optimizer!.state.step).toBe(tag === 'v1' ? 4 : 5);
    const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const adam = Adam.restore(
      optimizer!,
      vars.map((v) => v.shape),
    );
    const x = tensor4d(`checkpoints/${tag}-train-input.npy`);
    const seen: number[] = [];
    for (let i = 0; i < ckptManifest.steps; i++) {
      seen.push(
        tf.tidy(() => {
          const { loss, grads } = mseGradients(ae, x, { vars });
          adam.apply(vars, grads);
          return loss.dataSync()[0];
        }),
      );
    }
    for (let i = 0; i < losses.length; i++) expect(Math.abs(seen[i] - losses[i])).toBeLessThanOrEqual(1e-6);
    const after = readSafetensors(fixtureBytes(`checkpoints/${tag}-after-${ckptManifest.steps}.safetensors`)).tensors;
    const mine = readSafetensors(exportTorchWeights(ae)).tensors;
    expect([...after.keys()]).toEqual(kept);
    for (const key of kept)
      expect(maxAbsDiff(mine.get(key)!.toFloat32(), after.get(key)!.toFloat32()), key).toBeLessThanOrEqual(1e-4);
    tf.dispose(x);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before);
    ae.dispose();
    await useBackend('cpu');
  });
});

describe('exportTorchCheckpoint', () => {
  beforeAll(() => useBackend('cpu'));

  it('writes the bytes PyTorch was shown to read and continue from (the golden file)', () => {
    // make_checkpoint_fixtures.py checked this file with torch.load, load_state_dict and optimizer.load_state_dict.
    const { trainSize } = ckptManifest.models.v1;
    const ae = MODELS.v1(trainSize);
    const info = loadTorchWeights(ae, notebookFile('v1', 'checkpoint'));
    const vars = ae.model.trainableWeights.map((w) => w.read() as tf.Variable);
    const adam = Adam.restore(
      info.optimizer!,
      vars.map((v) => v.shape),
    );
    const x = tensor4d('checkpoints/v1-train-input.npy');
    let loss = NaN;
    for (let i = 0; i < ckptManifest.steps; i++) {
      loss = tf.tidy(() => {
        const step = mseGradients(ae, x, { vars });
        adam.apply(vars, step.grads);
        return step.loss.dataSync()[0];
      });
    }
    const bytes = exportTorchCheckpoint(ae, {
      epoch: info.epoch! + ckptManifest.steps,
      loss,
      optimizer: adam.snapshot(),
    });
    expect(bytes).toEqual(fixtureBytes('checkpoints/v1-cbir-checkpoint.pt'));
    tf.dispose(x);
    adam.dispose();
    ae.dispose();
  });

  it.each(['checkpoint', 'epoch-checkpoint', 'state-dict'] as const)(
    'round-trips the %s layout through loadTorchWeights',
    (layout) => {
      const ae = MODELS.v2(32);
      const info = loadTorchWeights(ae, notebookFile('v2', 'checkpoint'));
      const before = tf.memory().numTensors;
      const bytes = exportTorchCheckpoint(ae, { layout, epoch: 9, loss: 0.25, optimizer: info.optimizer });
      expect(tf.memory().numTensors).toBe(before);
      const back = MODELS.v2(32);
      const again = loadTorchWeights(back, bytes);
      expect(again.format).toBe(FORMS.find(([f]) => f === layout)![1]);
      const [a, b] = [ae, back].map((m) => m.model.getWeights().map((t) => t.dataSync()));
      a.forEach((w, i) => expect(maxAbsDiff(b[i], w)).toBe(0));
      if (layout === 'state-dict') expect(again.optimizer).toBeUndefined();
      else {
        expect(again.epoch).toBe(9);
        expect(layout === 'checkpoint' ? again.loss : again.bestLoss).toBe(0.25);
        const [s0, s1] = [info.optimizer!, again.optimizer!];
        expect(s1.options).toEqual(s0.options);
        expect(s1.state.step).toBe(s0.state.step);
        s0.state.m.forEach((m, i) =>
          expect(maxAbsDiff(s1.state.m[i], m) + maxAbsDiff(s1.state.v[i], s0.state.v[i])).toBe(0),
        );
      }
      ae.dispose();
      back.dispose();
    },
  );

  it("writes a fresh optimizer's state when given none, and refuses moments for another model", () => {
    const ae = MODELS.v1(68);
    const info = loadTorchWeights(MODELS.v1(68), exportTorchCheckpoint(ae));
    expect(info.optimizer).toEqual({
      options: { lr: 3e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      state: { step: 0, m: [], v: [] },
    });
    const wrong = {
      options: info.optimizer!.options,
      state: { step: 1, m: [new Float32Array(3)], v: [new Float32Array(3)] },
    };
    expect(() => exportTorchCheckpoint(ae, { optimizer: wrong })).toThrow(
      /moments for 1 parameters, ConvAutoencoder has 10/,
    );
    ae.dispose();
  });
});

describe('loadTorchWeights with strict: false, as PyTorch', () => {
  beforeAll(() => useBackend('cpu'));

  it('allows and reports missing and unexpected keys, and loads every key the model has', () => {
    const tensors = v1Tensors();
    tensors.delete('decoder.4.bias');
    tensors.set('decoder.9.weight', { shape: [1], data: new Float32Array(1) });
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const info = loadTorchWeights(ae, writeSafetensors(tensors), { strict: false });
    expect(info.missingKeys).toEqual(['decoder.4.bias']);
    expect(info.unexpectedKeys).toEqual(['decoder.9.weight']);
    expect(info.loaded).toHaveLength(9);
    expect(info.loaded).toContain('decoder.4.weight');
    ae.dispose();
  });

  it('still rejects a shape mismatch: a state dict of another network fails with every mismatch listed', () => {
    // The layout of the V2 cbir shipped before it had the notebook's: same key names in places, other shapes.
    const other = new Map([
      ['encoder.0.weight', { shape: [48, 3, 3, 3], data: new Float32Array(48 * 27) }],
      ['encoder.0.bias', { shape: [48], data: new Float32Array(48) }],
    ]);
    const ae = new ConvAutoencoderV2({ inputSize: 32 });
    let error: unknown;
    try {
      loadTorchWeights(ae, writeSafetensors(other), { strict: false, source: 'old.safetensors' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    expect((error as WeightsMismatchError).problems).toEqual([
      '"encoder.0.weight" has shape [48, 3, 3, 3], the model expects [64, 3, 3, 3]',
      '"encoder.0.bias" has shape [48], the model expects [64]',
    ]);
    expect((error as Error).message).toMatch(/even with strict: false/);
    ae.dispose();
  });

  it('reports an optimizer state it cannot import instead of dropping it', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const info = loadTorchWeights(
      ae,
      exportTorchCheckpoint(ae, {
        optimizer: { options: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 }, state: { step: 2, m: [], v: [] } },
      }),
    );
    expect(info.optimizer!.options.lr).toBe(1e-3);
    const partial = v1Tensors();
    partial.delete('encoder.0.bias');
    const sd = new Map([...partial].map(([k, t]) => [k, TorchTensor.fromFloat32(t.data, t.shape)]));
    const bytes = writeTorchFile(
      new Map<string, unknown>([
        ['model_state_dict', orderedDict(sd)],
        [
          'optimizer_state_dict',
          new Map<string, unknown>([
            ['state', new Map()],
            ['param_groups', []],
          ]),
        ],
      ]),
    );
    const got = loadTorchWeights(ae, bytes, { strict: false });
    expect(got.optimizer).toBeUndefined();
    expect(got.problems).toEqual([
      'missing key "encoder.0.bias"',
      'optimizer_state_dict: the optimizer state is not imported: the model is not fully loaded',
    ]);
    ae.dispose();
  });
});
