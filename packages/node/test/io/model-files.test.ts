import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvAutoencoder, ConvAutoencoderV2, FormatError, initNodeBackend, loadModel, saveModel } from 'cbir-node';
import { crc32 } from 'cbir-core/io';

/** The weights file model.json names in `dir`. */
const weightsOf = async (dir: string) =>
  join(dir, JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths[0]);

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
    const plain = await tfl.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: (await readFile(await weightsOf(dir))).buffer,
      }),
    );
    expect(plain.countParams()).toBe(3_313_731);
    ae.dispose();
    model.dispose();
  });

  it('rejects a missing folder and a truncated weights file, naming the file', async () => {
    await expect(loadModel('/nonexistent')).rejects.toThrow(/\/nonexistent\/model\.json cannot be read/);
    const dir = await mkdtemp(join(tmpdir(), 'cbir-model-'));
    const ae = new ConvAutoencoderV2({ inputSize: 32 });
    await saveModel(ae, dir);
    const bin = await readFile(await weightsOf(dir));
    await writeFile(await weightsOf(dir), bin.subarray(0, 1000));
    await expect(loadModel(dir)).rejects.toBeInstanceOf(FormatError);
    await expect(loadModel(dir)).rejects.toThrow(/truncated or mismatched/);
    ae.dispose();
  });

  it('a flipped bit anywhere in weights.bin, an absurd inputSize, NaN weights or a manifest path outside the folder: refused, nothing leaked', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-model-'));
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 1 });
    await saveModel(ae, dir);
    ae.dispose();
    const weightsPath = await weightsOf(dir);
    const bin = await readFile(weightsPath);
    const json = await readFile(join(dir, 'model.json'), 'utf8');
    const tensors = tf.memory().numTensors;
    // Eight single-bit flips spread over the file: each is caught by the checksum in model.json.
    for (let k = 0; k < 8; k++) {
      const flipped = Buffer.from(bin);
      const at = Math.floor(((k + 0.5) / 8) * flipped.length);
      flipped[at] ^= 1 << k;
      await writeFile(weightsPath, flipped);
      await expect(loadModel(dir), `bit ${k} at byte ${at}`).rejects.toThrow(/fail their checksum/);
    }
    await writeFile(weightsPath, bin);
    const meta = JSON.parse(json);
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({
        ...meta,
        userDefinedMetadata: { cbir: { ...meta.userDefinedMetadata.cbir, inputSize: 20000 } },
      }),
    );
    await expect(loadModel(dir)).rejects.toThrow(/inputSize 20000; expected an integer from 1 to 2048/);
    // NaN weights with a matching checksum (a model saved after training diverged) are refused by name.
    const nan = Buffer.from(bin);
    new Float32Array(nan.buffer, nan.byteOffset, nan.byteLength / 4).fill(NaN);
    const { cbir } = meta.userDefinedMetadata;
    await writeFile(weightsPath, nan);
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({ ...meta, userDefinedMetadata: { cbir: { ...cbir, weightsCrc32: crc32(nan) } } }),
    );
    await expect(loadModel(dir)).rejects.toThrow(/has NaN in weight .* at index 0; weights must be finite/);
    await writeFile(
      join(dir, 'model.json'),
      JSON.stringify({ ...meta, weightsManifest: [{ ...meta.weightsManifest[0], paths: ['../../etc/passwd'] }] }),
    );
    await expect(loadModel(dir)).rejects.toThrow(/outside the model's folder/);
    await writeFile(join(dir, 'model.json'), '{"weightsManifest": [{"paths": [7]}]}');
    await expect(loadModel(dir)).rejects.toBeInstanceOf(FormatError);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('a save is all or nothing: the folder holds the old model until model.json names the new weights; old weights go', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cbir-model-'));
    const a = new ConvAutoencoder({ inputSize: 32, seed: 1 });
    const b = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    await saveModel(a, dir);
    const first = await weightsOf(dir);
    // A save of b killed after its weights were written, before model.json: simulated by writing only b's weights file.
    await saveModel(b, join(dir, 'b'));
    const bWeights = await weightsOf(join(dir, 'b'));
    await writeFile(join(dir, bWeights.split('/').pop()!), await readFile(bWeights));
    const { model: stillA } = await loadModel(dir);
    expect(stillA.model.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(
      a.model.getWeights().map((t) => Array.from(t.dataSync())),
    );
    stillA.dispose();
    // A whole save of b: model.json names b's weights and a's file is gone.
    await saveModel(b, dir);
    expect((await readdir(dir)).filter((f) => f.startsWith('weights'))).toEqual([bWeights.split('/').pop()]);
    expect(await weightsOf(dir)).not.toBe(first);
    a.dispose();
    b.dispose();
  });
});
