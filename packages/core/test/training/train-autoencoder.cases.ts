import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  CbirError,
  NonFiniteError,
  ConvAutoencoder,
  ImageDecodeError,
  arrayDataset,
  deserializeCheckpoint,
  serializeCheckpoint,
  splitIndices,
  trainAutoencoder,
  type Autoencoder,
  type Checkpoint,
  type ImageDataset,
  type ProgressEvent,
  type RawImage,
  type TrainResult,
} from 'cbir-core';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/fixtures.js';

/** 24 images of 32x32: smooth gradients with a per-image colour, so the model can learn something. */
export function syntheticDataset(bad: number[] = []): ImageDataset {
  const items = Array.from({ length: 24 }, (_, n) => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 32; x++) {
        const p = (y * 32 + x) * 3;
        data[p] = (x * 8 + n * 10) % 256;
        data[p + 1] = (y * 8) % 256;
        data[p + 2] = (n * 37) % 256;
      }
    return { id: `img${n}`, image: { data, width: 32, height: 32, channels: 3 } as RawImage, label: String(n % 3) };
  });
  const base = arrayDataset(32, items);
  return {
    ...base,
    read: async (i) => {
      if (bad.includes(i)) throw new ImageDecodeError(`img${i} is corrupt`);
      return base.read(i);
    },
  };
}

const weightsOf = (ae: Autoencoder) => ae.model.getWeights().map((t) => t.dataSync() as Float32Array);

/**
 * trainAutoencoder's behaviour on `backend`: the split, learning, micro-batches, resuming, bad images and bad options.
 * The unit suite runs it on wasm, the integration suite on cpu (slower there).
 */
export function describeTrainAutoencoder(backend: (typeof BACKENDS)[number]): void {
  describe(`trainAutoencoder on ${backend}`, () => {
    beforeAll(async () => {
      registerWasmTrainingKernels();
      await useBackend(backend);
    });

    it("splits 85/15 as the notebook's train_test_split(random_state=seed): numpy's permutation, ceil for validation", () => {
      const a = splitIndices(100, 0.15, 0);
      expect(a.val).toHaveLength(15);
      expect(a.train).toHaveLength(85);
      expect(new Set([...a.train, ...a.val]).size).toBe(100);
      // np.random.RandomState(0).permutation(100)[:15]
      expect(a.val).toEqual([26, 86, 2, 55, 75, 93, 16, 73, 54, 95, 53, 92, 78, 13, 7]);
      expect(splitIndices(101, 0.15, 0).val).toHaveLength(16);
      expect(splitIndices(100, 0.15, 1)).not.toEqual(a);
    });

    it('lowers the loss, keeps tensor counts flat across epochs, and reports progress', async () => {
      const ae = new ConvAutoencoder({ inputSize: 32, seed: 0 });
      const counts: number[] = [];
      const events: ProgressEvent[] = [];
      const result = await trainAutoencoder(ae, syntheticDataset(), {
        epochs: 4,
        batchSize: 4,
        lr: 3e-3,
        onProgress: (e) => {
          events.push(e);
          if (e.stage === 'epoch') counts.push(tf.memory().numTensors);
        },
      });
      expect(result.history).toHaveLength(4);
      expect(result.history[3].trainLoss).toBeLessThan(result.history[0].trainLoss);
      expect(result.history[3].valLoss).toBeLessThan(result.history[0].valLoss);
      expect(new Set(counts).size).toBe(1);
      expect(events.filter((e) => e.stage === 'train')).toHaveLength(4 * 5); // 20 training images / 4 per batch
      expect(result.bestValLoss).toBe(Math.min(...result.history.map((h) => h.valLoss)));
      ae.dispose();
    });

    it('in micro-batches (3 + 3 + 2 of a batch of 8), ends where whole batches end: losses and weights to float rounding', async () => {
      const run = async (microBatch?: number) => {
        const ae = new ConvAutoencoder({ inputSize: 32, seed: 3 });
        const result = await trainAutoencoder(ae, syntheticDataset(), {
          epochs: 2,
          batchSize: 8,
          microBatch,
          lr: 3e-3,
        });
        const weights = weightsOf(ae);
        ae.dispose();
        return { result, weights };
      };
      const whole = await run();
      const before = tf.memory().numTensors;
      const micro = await run(3);
      expect(tf.memory().numTensors).toBe(before);
      micro.result.history.forEach((h, i) => {
        const ref = whole.result.history[i];
        expect(Math.abs(h.trainLoss - ref.trainLoss) / ref.trainLoss, `epoch ${i} train`).toBeLessThan(1e-5);
        expect(Math.abs(h.valLoss - ref.valLoss) / ref.valLoss, `epoch ${i} val`).toBeLessThan(1e-5);
      });
      micro.weights.forEach((w, i) => {
        const scale = Math.max(...Array.from(whole.weights[i], Math.abs));
        expect(maxAbsDiff(w, whole.weights[i]) / scale, `weight ${i}`).toBeLessThan(1e-4);
      });
      // Not the same computation: a micro-batched run that matched bitwise would not have split anything.
      expect(micro.weights.some((w, i) => maxAbsDiff(w, whole.weights[i]) > 0)).toBe(true);
    });

    it('resumed from a checkpoint taken mid-epoch, ends with the same weights as a run that never stopped', async () => {
      const run = async (stopAfterBatches?: number) => {
        const ae = new ConvAutoencoder({ inputSize: 32, seed: 5 });
        const controller = new AbortController();
        let seen = 0;
        let saved: Checkpoint | undefined;
        const training = trainAutoencoder(ae, syntheticDataset(), {
          epochs: 3,
          batchSize: 4,
          seed: 7,
          signal: controller.signal,
          onProgress: (e) => {
            if (e.stage === 'train' && ++seen === stopAfterBatches) controller.abort('test');
          },
          onCheckpoint: (c, kind) => {
            if (kind === 'last') saved = c;
          },
        });
        if (stopAfterBatches === undefined) return { ae, result: await training };
        // Stopped: one error type for every cancelled operation, with the result so far and the signal's reason.
        const stopped = await training.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(stopped).toBeInstanceOf(AbortedError);
        expect(stopped).toMatchObject({ code: 'ABORTED', name: 'AbortedError', cause: 'test' });
        expect((stopped as AbortedError<TrainResult>).partial!.checkpoint).toEqual(saved);
        ae.dispose();
        // A new process: a fresh model, the checkpoint read back from bytes.
        const resumed = new ConvAutoencoder({ inputSize: 32, seed: 99 });
        const checkpoint = deserializeCheckpoint(serializeCheckpoint(saved!));
        expect(checkpoint.batch).toBe(stopAfterBatches % 5);
        const result = await trainAutoencoder(resumed, syntheticDataset(), { epochs: 3, resume: checkpoint });
        return { ae: resumed, result };
      };
      const straight = await run();
      for (const stop of [7, 10]) {
        const resumed = await run(stop); // mid-epoch 1, and at the boundary of epoch 2
        expect(resumed.result.history.map((h) => h.valLoss)).toEqual(straight.result.history.map((h) => h.valLoss));
        const a = weightsOf(straight.ae);
        const b = weightsOf(resumed.ae);
        a.forEach((w, i) => expect(maxAbsDiff(b[i], w), `weight ${i}`).toBeLessThanOrEqual(1e-5));
        resumed.ae.dispose();
      }
      straight.ae.dispose();
    });

    it('reports and skips images that fail to decode', async () => {
      const ae = new ConvAutoencoder({ inputSize: 32 });
      const warnings: string[] = [];
      const result = await trainAutoencoder(ae, syntheticDataset([0, 5, 11]), {
        epochs: 2,
        batchSize: 4,
        onProgress: (e) => e.stage === 'warning' && warnings.push(e.message),
      });
      expect(warnings).toHaveLength(3); // once each, then skipped
      expect(result.checkpoint.skipped).toEqual([0, 5, 11]);
      expect(Number.isFinite(result.history[1].valLoss)).toBe(true);
      ae.dispose();
    });

    it('no validation image decodes: a clear error, not "val loss NaN" and a model never written', async () => {
      const ae = new ConvAutoencoder({ inputSize: 32 });
      const val = splitIndices(24, 0.15, 0).val;
      const checkpoints: string[] = [];
      await expect(
        trainAutoencoder(ae, syntheticDataset(val), {
          epochs: 1,
          batchSize: 4,
          onCheckpoint: (_, kind) => void checkpoints.push(kind),
        }),
      ).rejects.toThrow(/none of the 4 validation images could be decoded/);
      // A checkpoint to resume from after the first batch, but no best model: there was no validation loss.
      expect(checkpoints).toEqual(['last']);
      ae.dispose();
    });

    it('a non-finite training loss is a NonFiniteError naming the epoch, the batch and its images; the weights stay as they were', async () => {
      const ae = new ConvAutoencoder({ inputSize: 32 });
      const before = weightsOf(ae);
      const data = syntheticDataset();
      // An image whose pixels decode to NaN (a decoder bug, say): imagesToTensor passes it on, the loss is NaN.
      const poisoned: ImageDataset = {
        ...data,
        read: async (i) =>
          i === 3
            ? { ...(await data.read(i)), data: new Float32Array(32 * 32 * 3).fill(NaN) as unknown as Uint8Array }
            : data.read(i),
      };
      const err = await trainAutoencoder(ae, poisoned, { epochs: 1, batchSize: 4 }).catch((e) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err.code).toBe('NON_FINITE');
      expect(err.message).toMatch(/the training loss is NaN at epoch 0, batch \d+ \(images .*img3/);
      const after = weightsOf(ae);
      // Batches before the poisoned one trained; the poisoned one changed nothing: every weight is finite.
      expect(after.every((w) => w.every(Number.isFinite))).toBe(true);
      expect(before.length).toBe(after.length);
      ae.dispose();
    });

    it('checkpoints after the first batch and every checkpointEvery batches, and resuming from the first equals an uninterrupted run', async () => {
      const seen: Checkpoint[] = [];
      const a = new ConvAutoencoder({ inputSize: 32, seed: 5 });
      await trainAutoencoder(a, syntheticDataset(), {
        epochs: 1,
        batchSize: 2,
        checkpointEvery: 4,
        onCheckpoint: (c, kind) => void (kind === 'last' && seen.push(c)),
      });
      // 20 training images in batches of 2: mid-epoch checkpoints after batches 1, 4 and 8, then the epoch's own.
      expect(seen.map((c) => [c.epoch, c.batch])).toEqual([
        [0, 1],
        [0, 4],
        [0, 8],
        [1, 0],
      ]);
      const b = new ConvAutoencoder({ inputSize: 32, seed: 5 });
      await trainAutoencoder(b, syntheticDataset(), { epochs: 1, batchSize: 2, resume: seen[0] });
      expect(weightsOf(b)).toEqual(weightsOf(a));
      a.dispose();
      b.dispose();
    });

    it('resuming on other images is refused with what changed; onDataChange resplit keeps the weights and splits the new data', async () => {
      const ae = new ConvAutoencoder({ inputSize: 32, seed: 1 });
      const first = await trainAutoencoder(ae, syntheticDataset(), { epochs: 1, batchSize: 8 });
      expect(first.checkpoint.data).toEqual({ size: 24, fingerprint: expect.stringMatching(/^[0-9a-f]{8}-24$/) });
      const fewer: ImageDataset = { ...syntheticDataset(), size: 20 };
      await expect(trainAutoencoder(ae, fewer, { epochs: 2, resume: first.checkpoint })).rejects.toThrow(
        /trained on 24 images .*this dataset has 20/,
      );
      const renamed: ImageDataset = { ...syntheticDataset(), entry: (i) => ({ id: `other${i}` }) };
      await expect(trainAutoencoder(ae, renamed, { epochs: 2, resume: first.checkpoint })).rejects.toThrow(
        /onDataChange: 'resplit'/,
      );
      const again = await trainAutoencoder(ae, fewer, { epochs: 2, resume: first.checkpoint, onDataChange: 'resplit' });
      expect(again.history.map((h) => h.epoch)).toEqual([0, 1]);
      expect(again.checkpoint.split.val).toEqual(splitIndices(20, 0.15, 0).val);
      expect(again.checkpoint.data!.size).toBe(20);
      ae.dispose();
    });

    it('rejects mismatched sizes, bad options and a checkpoint of another model', async () => {
      const ae = new ConvAutoencoder({ inputSize: 44 });
      await expect(trainAutoencoder(ae, syntheticDataset(), { epochs: 1 })).rejects.toThrow(
        /images are 32x32, the model takes 44x44/,
      );
      const ok = new ConvAutoencoder({ inputSize: 32 });
      await expect(trainAutoencoder(ok, syntheticDataset(), { epochs: 0 })).rejects.toBeInstanceOf(CbirError);
      const other = { architecture: 'ConvAutoencoderV2', inputSize: 32 } as Checkpoint;
      await expect(
        trainAutoencoder(ok, syntheticDataset(), {
          epochs: 1,
          resume: { ...other, options: { batchSize: 4, lr: 1, seed: 0, valFraction: 0.15, epochs: 1 } },
        }),
      ).rejects.toThrow(/checkpoint is for ConvAutoencoderV2/);
      ae.dispose();
      ok.dispose();
    });
  });
}
