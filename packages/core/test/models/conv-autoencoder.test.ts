import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CbirError, ConvAutoencoder, ConvAutoencoderV2, DimensionMismatchError, encodeChunkSize } from 'cbir-core';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { fixtureBytes, fixtureJson } from '../helpers/fixtures.js';
import { parityAgainstTorch } from '../helpers/parity.js';

interface Manifest {
  models: Record<
    string,
    { params: number; summary512: unknown[]; sizes: Record<string, { latentShape: number[]; summary: unknown[] }> }
  >;
}
const manifest = fixtureJson<Manifest>('models/manifest.json');

describe('ConvAutoencoder geometry', () => {
  beforeAll(() => useBackend('cpu'));

  it('has 6,851 parameters and the 8x42x42 latent at 512, as PyTorch', () => {
    const ae = new ConvAutoencoder();
    expect(ae.countParams()).toBe(6851);
    expect(manifest.models.v1.params).toBe(6851);
    expect(ae.latentShape).toEqual([8, 42, 42]);
    expect(ae.latentDim).toBe(8 * 42 * 42);
    expect(ae.summary()).toEqual(manifest.models.v1.summary512);
    ae.dispose();
  });

  it.each([68, 128])('summary rows at %i equal PyTorch forward hooks', (size) => {
    const ae = new ConvAutoencoder({ inputSize: size });
    expect(ae.summary()).toEqual(manifest.models.v1.sizes[size].summary);
    expect(ae.latentShape).toEqual(manifest.models.v1.sizes[size].latentShape);
    // The tfjs graph agrees with the PyTorch formulas the summary uses.
    const [c, h, w] = ae.latentShape;
    expect(ae.encoder.outputs[0].shape).toEqual([null, h, w, c]);
    expect(ae.model.outputs[0].shape).toEqual([null, size, size, 3]);
    expect(ae.formatSummary()).toContain('Total params: 6,851');
    ae.dispose();
  });

  it('accepts exactly the sizes that are 8 mod 12', () => {
    for (let s = 20; s <= 520; s++) {
      if (s % 12 === 8) expect(() => new ConvAutoencoder({ inputSize: s }).dispose(), `size ${s}`).not.toThrow();
    }
    for (const s of [64, 100, 256, 511, 513]) expect(() => new ConvAutoencoder({ inputSize: s })).toThrow(CbirError);
  });

  it('names the nearest valid sizes when a size is rejected', () => {
    expect(() => new ConvAutoencoder({ inputSize: 100 })).toThrow(/inputSize 100 .*Nearest valid sizes: 92 and 104/);
    expect(() => new ConvAutoencoder({ inputSize: 0 })).toThrow(/Nearest valid sizes: .*20/);
    expect(() => new ConvAutoencoder({ inputSize: 128.5 })).toThrow(/Nearest valid sizes: 128 and 140/);
  });

  it('rejects inputs of the wrong shape with a DimensionMismatchError', () => {
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    expect(() => ae.encode(x)).toThrow(DimensionMismatchError);
    expect(() => ae.reconstruct(x)).toThrow(/expected NHWC images of shape \[n, 68, 68, 3\], got \[1, 64, 64, 3\]/);
    x.dispose();
    ae.dispose();
  });

  it('same seed, same weights; different seed, different weights', () => {
    const w = (seed: number) => {
      const ae = new ConvAutoencoder({ inputSize: 68, seed });
      const values = ae.model.getWeights().map((t) => Array.from(t.dataSync()));
      ae.dispose();
      return values;
    };
    expect(w(3)).toEqual(w(3));
    expect(w(3)).not.toEqual(w(4));
  });
});

describe.each(BACKENDS)('ConvAutoencoder parity with PyTorch on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(() => useBackend('cpu'));

  it.each([
    ['safetensors', 'v1.safetensors'],
    ['torch.save state dict', 'v1-state-dict.pth'],
    ['torch.save checkpoint', 'v1-checkpoint.pth'],
  ])('latent and reconstruction within 1e-4 at 68 and 128 (%s)', async (_, file) => {
    for (const size of [68, 128]) {
      const ae = new ConvAutoencoder({ inputSize: size });
      const diff = await parityAgainstTorch(ae, fixtureBytes(`models/${file}`), 'v1', size);
      expect(diff.latent).toBeLessThanOrEqual(1e-4);
      expect(diff.recon).toBeLessThanOrEqual(1e-4);
      ae.dispose();
    }
  });
});

describe('Autoencoder.encode in cache-sized chunks', () => {
  it.each(BACKENDS)('gives what one pass through the encoder gives, on %s, and frees every chunk', async (backend) => {
    await useBackend(backend);
    const ae = new ConvAutoencoder({ inputSize: 128, seed: 3 });
    // 130 x 130 x 3 floats (the padded input) are the largest activation: 10 images in 2 MiB.
    expect(ae.encodeChunk).toBe(10);
    // V2's first activation outgrows the cache: then as many images as keep a pass's activations within 1 GiB (the
    // sum of its layers' outputs, ReLUs counted: 19.6 MiB an image at 128 px, 315 MiB at 512).
    expect(encodeChunkSize(new ConvAutoencoderV2({ inputSize: 128 }).architecture, 128)).toBe(52);
    expect(encodeChunkSize(new ConvAutoencoderV2({ inputSize: 512 }).architecture, 512)).toBe(3);
    const x = tf.randomUniform([23, 128, 128, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const whole = ae.encoder.apply(x, { training: false }) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const z = ae.encode(x); // chunks of 8, 8 and 7
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(z.shape).toEqual(whole.shape);
    const [a, b] = [z.dataSync(), whole.dataSync()];
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    expect(diff).toBeLessThanOrEqual(1e-6);
    tf.dispose([x, whole, z]);
    ae.dispose();
  });
});
