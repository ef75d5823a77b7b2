import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvAutoencoderV2, FormatError, initNodeBackend, loadModel, saveModel } from 'cbir-node';

describe('saveModel / loadModel', () => {
  beforeAll(() => initNodeBackend({ prefer: ['wasm'] }));

  it('round-trips weights and metadata, and the files load in plain tfjs too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-model-'));
    const ae = new ConvAutoencoderV2({ inputSize: 64, seed: 3 });
    await saveModel(ae, dir, { history: [1, 2] });
    const { model, metadata } = await loadModel(dir);
    expect(metadata).toMatchObject({ architecture: 'ConvAutoencoderV2', inputSize: 64, history: [1, 2] });
    const a = ae.model.getWeights().map((t) => Array.from(t.dataSync()));
    const b = model.model.getWeights().map((t) => Array.from(t.dataSync()));
    expect(b).toEqual(a);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    const plain = await tfl.loadLayersModel(tf.io.fromMemory({
      modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: (await readFile(join(dir, 'weights.bin'))).buffer,
    }));
    expect(plain.countParams()).toBe(3_313_731);
    ae.dispose();
    model.dispose();
  });

  it('rejects a missing folder and a truncated weights file, naming the file', async () => {
    await expect(loadModel('/nonexistent')).rejects.toThrow(/\/nonexistent\/model\.json cannot be read/);
    const dir = await mkdtemp(join(tmpdir(), 'cbir-model-'));
    const ae = new ConvAutoencoderV2({ inputSize: 32 });
    await saveModel(ae, dir);
    const bin = await readFile(join(dir, 'weights.bin'));
    await writeFile(join(dir, 'weights.bin'), bin.subarray(0, 1000));
    await expect(loadModel(dir)).rejects.toBeInstanceOf(FormatError);
    await expect(loadModel(dir)).rejects.toThrow(/truncated or mismatched/);
    ae.dispose();
  });
});
