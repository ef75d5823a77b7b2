// The webgpu backend on a real WebGPU adapter: lavapipe (mesa 25, a software Vulkan driver) in CI, through
// `pnpm test:gpu`, which fetches it and sets CBIR_ALLOW_SOFTWARE_GPU=1 and CBIR_REQUIRE_WEBGPU=1; a GPU elsewhere.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  ConvAutoencoderV2,
  ExactEuclideanIndex,
  arrayDataset,
  deserializeCheckpoint,
  deserializeFeatures,
  embedImages,
  fitPca,
  initNodeBackend,
  releaseWebGpu,
  trainAutoencoder,
  type BackendChoice,
  type Checkpoint,
  type RawImage,
} from 'cbir-node';
import { formulaSafetensors } from '../../core/test/helpers/formula-weights.js';
import { parityAgainstTorch } from '../../core/test/helpers/parity.js';
import { checkTrainingParity } from '../../core/test/helpers/torch-parity.js';
import { fixtureBytes } from '../../core/test/helpers/fixtures.js';
import { makeImageFolder } from '../test/helpers.js';
import { autoWebGpuSkip } from '../src/backend.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/cli/dist/main.js');

// CI asks for an adapter (CBIR_REQUIRE_WEBGPU=1): there a run with none fails instead of skipping.
const choice: BackendChoice | undefined = await initNodeBackend({ prefer: ['webgpu'] }).catch((e: Error) => {
  if (process.env.CBIR_REQUIRE_WEBGPU === '1') throw e;
  console.warn(`skipping the webgpu suite: ${e.message}`);
  return undefined;
});
afterAll(() => releaseWebGpu());

/** 12 images of 32x32: smooth gradients with a per-image colour. */
function gradients(n = 12): { id: string; image: RawImage; label: string }[] {
  return Array.from({ length: n }, (_, k) => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const p = (y * 32 + x) * 3;
        data.set([(x * 8 + k * 20) % 256, (y * 8) % 256, (k * 37) % 256], p);
      }
    return { id: `img${k}`, image: { data, width: 32, height: 32, channels: 3 }, label: String(k % 3) };
  });
}

describe.skipIf(!choice)('the webgpu backend', () => {
  it('starts on the adapter and says which, with its largest tensor as a memory limit', () => {
    expect(choice!.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(choice!.adapter!.description.length).toBeGreaterThan(0);
    expect(choice!.memory.maxTensorBytes).toBe(choice!.adapter!.maxStorageBufferBindingSize);
  });

  it.each(['v1', 'v2'] as const)(
    "%s training steps equal PyTorch's: loss, gradients, and the parameters after 1 and 10 Adam steps",
    (tag) => checkTrainingParity(tag, { steps: 10 }),
  );

  it("v1 in micro-batches of 3: PyTorch's batch-4 step", () => checkTrainingParity('v1', { steps: 10, microBatch: 3 }));

  it('encodes and reconstructs as PyTorch does (1e-4): V1 at 68 px, V2 at 64 px', async () => {
    const v1 = new ConvAutoencoder({ inputSize: 68 });
    const d1 = await parityAgainstTorch(v1, fixtureBytes('models/v1.safetensors'), 'v1', 68);
    const v2 = new ConvAutoencoderV2({ inputSize: 64 });
    const d2 = await parityAgainstTorch(v2, formulaSafetensors(v2), 'v2', 64);
    for (const d of [d1, d2]) {
      expect(d.latent).toBeLessThanOrEqual(1e-4);
      expect(d.recon).toBeLessThanOrEqual(1e-4);
    }
    v1.dispose();
    v2.dispose();
  });

  it('trains (micro-batches, checkpoints), embeds, fits PCA and searches with no synchronous read', async () => {
    const before = tf.memory().numTensors;
    const ae = new ConvAutoencoderV2({ inputSize: 32, seed: 1 });
    const data = arrayDataset(32, gradients());
    let last: Checkpoint | undefined;
    const result = await trainAutoencoder(ae, data, {
      epochs: 2,
      batchSize: 4,
      microBatch: 3,
      onCheckpoint: (c) => void (last = c),
    });
    expect(result.history).toHaveLength(2);
    expect(result.history.every((h) => Number.isFinite(h.trainLoss) && Number.isFinite(h.valLoss))).toBe(true);
    expect(last!.params).toHaveLength(ae.model.trainableWeights.length);
    expect(last!.adam.m).toHaveLength(ae.model.trainableWeights.length);
    const features = await embedImages(ae, data, { reduce: 'pca:4', l2: true });
    expect(features.matrix.rows).toBe(12);
    expect(features.matrix.cols).toBe(4);
    const pca = await fitPca(features.matrix, 2);
    expect(pca.components).toHaveLength(8);
    // The exact scan's products would be a matMul on a GPU backend, read synchronously: on webgpu in Node, SIMD.
    const index = new ExactEuclideanIndex(4);
    index.add(features.matrix);
    const hits = index.search({ data: features.matrix.data.subarray(0, 8), rows: 2, cols: 4 }, 3);
    expect([hits.ids[0], hits.ids[3]]).toEqual([0, 1]); // flat [nq, k]: each query itself first
    ae.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe.skipIf(!choice)('cbir on webgpu', () => {
  it('train --backend webgpu names the adapter, trains in micro-batches, resumes; embed on webgpu equals embed on wasm', async () => {
    const data = await makeImageFolder(4);
    const out = await mkdtemp(join(tmpdir(), 'cbir-gpu-train-'));
    const train = (...extra: string[]) =>
      run(
        process.execPath,
        [cli, 'train', '--data', data, '--arch', 'v1', '--size', '32', '--batch', '4', '--out', out, ...extra],
        { env: { ...process.env, CBIR_BACKEND: undefined } },
      );
    const { stdout } = await train('--epochs', '1', '--micro-batch', '2', '--backend', 'webgpu');
    expect(stdout).toMatch(/backend webgpu on .+/);
    expect(stdout).toMatch(/batch 4 in micro-batches of 2/);
    const ckpt = deserializeCheckpoint(new Uint8Array(await readFile(join(out, 'last.ckpt'))));
    expect(ckpt.epoch).toBe(1);
    const resumed = await train('--resume', '--epochs', '2', '--backend', 'webgpu');
    expect(resumed.stdout).toMatch(/done: best val loss/);

    // cbir embed on webgpu writes the features cbir embed on wasm writes (the pipeline's fingerprint included).
    const embed = async (backend: string) => {
      const file = join(out, `${backend}.cbirfeat`);
      await run(process.execPath, [cli, 'embed', '--model', out, '--data', data, '--out', file, '--backend', backend], {
        env: { ...process.env, CBIR_BACKEND: undefined },
      });
      return deserializeFeatures(new Uint8Array(await readFile(file)));
    };
    const [gpu, wasm] = [await embed('webgpu'), await embed('wasm')];
    expect(gpu.ids).toEqual(wasm.ids);
    expect(gpu.pipeline).toEqual(wasm.pipeline);
    let diff = 0;
    gpu.matrix.data.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - wasm.matrix.data[i]))));
    expect(diff).toBeLessThan(1e-4);
  });

  it('refuses a software adapter unless CBIR_ALLOW_SOFTWARE_GPU=1, saying what it is and what to do', async () => {
    const env = { ...process.env, CBIR_ALLOW_SOFTWARE_GPU: undefined, CBIR_BACKEND: undefined };
    const doctor = await run(process.execPath, [cli, 'doctor'], { env });
    if (!choice?.adapter?.isFallbackAdapter) {
      // A real GPU: the automatic order takes it.
      expect(doctor.stdout).toMatch(/backend: webgpu/);
      return;
    }
    expect(doctor.stdout).toMatch(/backend: wasm/);
    // The automatic order passes over webgpu without asking Dawn where Linux shows no GPU device node (lavapipe needs
    // none); asked for webgpu by name, Dawn finds the software adapter and cbir refuses it, saying why.
    const why = autoWebGpuSkip(process.platform, existsSync, env);
    expect(doctor.stdout).toContain(why ? `skipped webgpu: ${why}` : 'skipped webgpu: the only WebGPU adapter is');
    const named = await run(process.execPath, [cli, 'doctor'], { env: { ...env, CBIR_BACKEND: 'webgpu,wasm' } });
    expect(named.stdout).toMatch(/backend: wasm/);
    expect(named.stdout).toMatch(
      /skipped webgpu: the only WebGPU adapter is .* a software fallback.*CBIR_ALLOW_SOFTWARE_GPU=1/,
    );
    expect(doctor.stdout).toMatch(/webgpu adapter: .*a software fallback; largest tensor \d+ MiB/);
    const help = await run(process.execPath, [cli, 'embed', '--backend', 'webgpu', '--help'], { env });
    expect(help.stdout).toMatch(/--backend NAME/);
    const failed = await run(
      process.execPath,
      [cli, 'train', '--data', await makeImageFolder(2), '--size', '32', '--epochs', '1', '--backend', 'webgpu'],
      { env },
    ).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/webgpu \(the only WebGPU adapter is .*software fallback/);
  });
});
