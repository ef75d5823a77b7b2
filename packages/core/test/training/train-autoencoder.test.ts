import { describe, expect, it } from 'vitest';
import { ConvAutoencoder, deserializeCheckpoint, serializeCheckpoint, trainAutoencoder } from 'cbir-core';
import { useBackend } from '../helpers/backends.js';
import { describeTrainingParity } from '../helpers/torch-parity.js';
import { describeTrainAutoencoder, syntheticDataset } from './train-autoencoder.cases.js';

// The cpu backend's run of the same checks is in train-autoencoder-cpu.integration.test.ts (minutes there).
describeTrainingParity('wasm');
describeTrainAutoencoder('wasm');

describe('checkpoint files', () => {
  it('round-trip exactly and reject bad magic, version, truncation and corruption', async () => {
    await useBackend('cpu');
    const ae = new ConvAutoencoder({ inputSize: 32 });
    const { checkpoint } = await trainAutoencoder(ae, syntheticDataset(), { epochs: 1, batchSize: 8 });
    const bytes = serializeCheckpoint(checkpoint);
    const back = deserializeCheckpoint(bytes);
    expect(back.history).toEqual(checkpoint.history);
    expect(back.params.map((p) => Array.from(p.data))).toEqual(checkpoint.params.map((p) => Array.from(p.data)));
    expect(back.adam.step).toBe(checkpoint.adam.step);
    expect(() => deserializeCheckpoint(bytes.subarray(0, bytes.length - 7), 'x.ckpt')).toThrow(/x\.ckpt .*checksum/);
    const flipped = bytes.slice();
    flipped[bytes.length - 100] ^= 1;
    expect(() => deserializeCheckpoint(flipped)).toThrow(/checksum/);
    const magic = bytes.slice();
    magic[0] = 0;
    expect(() => deserializeCheckpoint(magic)).toThrow(/bad magic/);
    const version = bytes.slice();
    new DataView(version.buffer).setUint32(8, 99, true);
    expect(() => deserializeCheckpoint(version)).toThrow(/version 99/);
    ae.dispose();
  });
});
