import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  ConvAutoencoderV2,
  FormatError,
  TorchTensor,
  WeightsMismatchError,
  exportTorchWeights,
  loadTorchWeights,
  readSafetensors,
  writeSafetensors,
} from 'cbir-core';
import { useBackend } from '../helpers/backends.js';
import { fixtureBytes, maxAbsDiff } from '../helpers/fixtures.js';

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

  it('loads what matches with strict: false and reports the rest', () => {
    const tensors = v1Tensors();
    tensors.delete('decoder.4.bias');
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const info = loadTorchWeights(ae, writeSafetensors(tensors), { strict: false });
    expect(info.loaded).toHaveLength(8);
    expect(info.problems).toEqual(['missing key "decoder.4.bias"']);
    ae.dispose();
  });

  it("rejects V1 weights for V2 with a WeightsMismatchError, not a crash", () => {
    const ae = new ConvAutoencoderV2({ inputSize: 32 });
    expect(() => loadTorchWeights(ae, v1Safetensors())).toThrow(WeightsMismatchError);
    ae.dispose();
  });

  it('rejects bytes that are neither format, a truncated zip and a pickle with an unsupported opcode', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    expect(() => loadTorchWeights(ae, new TextEncoder().encode('hello world, not weights'))).toThrow(FormatError);
    expect(() => loadTorchWeights(ae, new TextEncoder().encode('hello world, not weights'))).toThrow(/neither a safetensors file nor a torch\.save zip/);
    const checkpoint = fixtureBytes('models/v1-checkpoint.pth');
    for (const cut of [100, checkpoint.length / 2, checkpoint.length - 10]) {
      expect(() => loadTorchWeights(ae, checkpoint.subarray(0, Math.floor(cut)), { source: 'cut.pth' })).toThrow(FormatError);
    }
    expect(() => loadTorchWeights(ae, fixtureBytes('models/unsupported-opcode.pth'))).toThrow(/pickle opcode 0x70 \("p"\) at byte 2/);
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

  it('does not leak tensors', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const before = tf.memory().numTensors;
    loadTorchWeights(ae, v1Safetensors());
    exportTorchWeights(ae);
    expect(tf.memory().numTensors).toBe(before);
    ae.dispose();
  });
});
