import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { CbirError, ConvAutoencoder, ConvAutoencoderV2 } from 'cbir-core';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { fixtureJson } from '../helpers/fixtures.js';
import { formulaSafetensors } from '../helpers/formula-weights.js';
import { parityAgainstTorch } from '../helpers/parity.js';

interface Manifest {
  models: Record<
    string,
    { params: number; summary512: unknown[]; sizes: Record<string, { latentShape: number[]; summary: unknown[] }> }
  >;
}
const manifest = fixtureJson<Manifest>('models/manifest.json');

describe('ConvAutoencoderV2 geometry', () => {
  beforeAll(() => useBackend('cpu'));

  it('has 3,313,731 parameters and the 256x16x16 latent at 512, as PyTorch', () => {
    const ae = new ConvAutoencoderV2();
    expect(ae.countParams()).toBe(3_313_731);
    expect(manifest.models.v2.params).toBe(3_313_731);
    expect(ae.latentShape).toEqual([256, 16, 16]);
    expect(ae.summary()).toEqual(manifest.models.v2.summary512);
    expect(ae.model.outputs[0].shape).toEqual([null, 512, 512, 3]);
    ae.dispose();
  });

  it.each([64, 128])('summary rows at %i equal PyTorch forward hooks', (size) => {
    const ae = new ConvAutoencoderV2({ inputSize: size });
    expect(ae.summary()).toEqual(manifest.models.v2.sizes[size].summary);
    const [c, h, w] = ae.latentShape;
    expect(ae.encoder.outputs[0].shape).toEqual([null, h, w, c]);
    ae.dispose();
  });

  it.each([
    ['ConvAutoencoder', () => new ConvAutoencoder({ inputSize: 32 })],
    ['ConvAutoencoderV2', () => new ConvAutoencoderV2({ inputSize: 32 })],
  ] as const)("%s: dispose() frees every weight, the decoder's (used in two graphs) included", (_, make) => {
    const before = tf.memory().numTensors;
    const ae = make();
    expect(tf.memory().numTensors - before).toBe(ae.model.weights.length);
    ae.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accepts multiples of 32 and names the nearest ones otherwise', () => {
    for (const s of [32, 96, 224]) expect(() => new ConvAutoencoderV2({ inputSize: s }).dispose()).not.toThrow();
    expect(() => new ConvAutoencoderV2({ inputSize: 100 })).toThrow(CbirError);
    expect(() => new ConvAutoencoderV2({ inputSize: 100 })).toThrow(/Nearest valid sizes: 96 and 128/);
    expect(() => new ConvAutoencoderV2({ inputSize: 16 })).toThrow(/Nearest valid sizes: 32/);
  });
});

describe.each(BACKENDS)('ConvAutoencoderV2 parity with PyTorch on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(() => useBackend('cpu'));

  it.each([64, 128])('latent and reconstruction within 1e-4 at %i (formula weights)', async (size) => {
    const ae = new ConvAutoencoderV2({ inputSize: size });
    const diff = await parityAgainstTorch(ae, formulaSafetensors(ae), 'v2', size);
    expect(diff.latent).toBeLessThanOrEqual(1e-4);
    expect(diff.recon).toBeLessThanOrEqual(1e-4);
    ae.dispose();
  });
});
