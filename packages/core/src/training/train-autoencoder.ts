import * as tf from '@tensorflow/tfjs-core';
import { AbortedError, CbirError, ImageDecodeError, NonFiniteError } from '../errors.js';
import type { ImageDataset } from '../data/image-dataset.js';
import { imagesToTensor, type RawImage } from '../image/raw-image.js';
import type { Autoencoder } from '../models/autoencoder.js';
import type { LongRunning } from '../progress.js';
import { crc32 } from '../io/crc32.js';
import { trainTestSplit } from '../utils/random-state.js';
import { Rng } from '../utils/rng.js';
import { Adam, type AdamSnapshot } from './adam.js';
import type { Checkpoint, EpochRecord } from './checkpoint.js';
import { backendMemory, chooseMicroBatch, mseGradients } from './micro-batch.js';

/** Options of {@link trainAutoencoder}. */
export interface TrainOptions extends LongRunning {
  /** Total epochs to reach (a resumed run continues up to this). */
  epochs: number;
  /** Images per optimiser step. @defaultValue 32 (the notebook's) */
  batchSize?: number;
  /**
   * Images per forward and backward pass: a step's gradient is accumulated over micro-batches of this size and equals
   * the whole batch's to float rounding (see {@link mseGradients}), so a batch of 32 at 512 px trains where 32 images
   * do not fit in memory at once. A resumed run may use another.
   * @defaultValue what fits the active backend's memory: `chooseMicroBatch(model, batchSize, backendMemory())`
   * (the whole batch wherever it fits)
   */
  microBatch?: number;
  /** Adam's learning rate. @defaultValue 3e-4 (the notebook's) */
  lr?: number;
  /** Seed of the train/validation split and of each epoch's shuffle. @defaultValue 0 */
  seed?: number;
  /** Fraction of the data held out for validation. @defaultValue 0.15 (the notebook's 85/15 split) */
  valFraction?: number;
  /** Continue from this checkpoint (from `onCheckpoint` or a file); its split, order and RNG state are used. */
  resume?: Checkpoint;
  /**
   * What to do when `resume`'s checkpoint was trained on other data (another number of items, or other ids):
   * `'error'` refuses; `'resplit'` keeps the weights, Adam's state and the history, and splits the new data afresh
   * (by `seed`), starting the next epoch from its first batch. @defaultValue 'error'
   */
  onDataChange?: 'error' | 'resplit';
  /**
   * Start Adam from this state instead of from zeros: a notebook checkpoint's `optimizer_state_dict`, as
   * `loadTorchWeights(model, bytes).optimizer` imports it (lr, betas, eps, step and moments), so training continues as
   * the notebook's RETRAIN does. Its lr is used unless `lr` is given. Ignored when `resume` is given.
   */
  initialOptimizer?: AdamSnapshot;
  /**
   * Called with a checkpoint at the end of every epoch (`last`), when the validation loss improves (`best`), when
   * `signal` stops training (`last`), and within an epoch (`last`) after the run's first batch and every
   * `checkpointEvery` batches, so that a process killed early still leaves something to resume. Node writes them to
   * files; awaited before training goes on.
   */
  onCheckpoint?: (checkpoint: Checkpoint, kind: 'last' | 'best') => Promise<void> | void;
  /** Batches between checkpoints within an epoch (see `onCheckpoint`). @defaultValue 50 */
  checkpointEvery?: number;
}

/** What {@link trainAutoencoder} did. */
export interface TrainResult {
  history: EpochRecord[];
  bestValLoss: number;
  bestEpoch: number;
  /** The state at return, to resume from. */
  checkpoint: Checkpoint;
}

/**
 * The notebook's split, `train_test_split(rows, test_size=valFraction, random_state=seed)`: the same validation and
 * training rows, in the same order, as scikit-learn picks for the same ordered file list (see {@link trainTestSplit}).
 *
 * @example
 * ```ts
 * const { train, val } = splitIndices(1000, 0.15, 0);   // 850 and 150 rows: the notebook's split of 1,000 files
 * ```
 */
export function splitIndices(n: number, valFraction: number, seed: number): { train: number[]; val: number[] } {
  const { train, test } = trainTestSplit(n, valFraction, seed);
  return { train, val: test };
}

/**
 * Trains an autoencoder as the notebook does: MSE loss, Adam (PyTorch's update, lr 3e-4, betas 0.9/0.999, eps 1e-8),
 * batches of 32, a seeded 85/15 train/validation split fixed for the run, a seeded shuffle each epoch, and per-epoch
 * train and validation losses (per-image MSE averaged over images). Checkpoints carry everything needed to resume
 * exactly: a run resumed from one ends with the same weights as a run that never stopped. A batch too large for
 * memory runs in micro-batches (`microBatch`) with the same result. Every value is read back asynchronously, so it
 * trains on any backend, WebGPU included.
 *
 * Items that fail to decode are reported (`warning` events) and skipped from then on.
 *
 * @param model - The autoencoder to train in place.
 * @param data - Images of `model.inputSize`.
 * @param options - Epochs, batch size, learning rate, seed, resume, progress, cancellation, checkpoints.
 * @returns The history and the final checkpoint.
 * @throws {@link CbirError} if the data's image size differs from the model's, the data is too small, or `resume`
 * belongs to another model.
 * @throws {@link AbortedError} when `signal` stops training (at a batch boundary): its `partial` is the
 * {@link TrainResult} so far, whose checkpoint (also passed to `onCheckpoint`) resumes the run.
 *
 * @example
 * ```ts
 * const result = await trainAutoencoder(ae, data, { epochs: 3, onProgress: (e) => console.log(e) });
 * console.log(result.history.map((h) => h.valLoss));
 * ```
 */
export async function trainAutoencoder(
  model: Autoencoder,
  data: ImageDataset,
  options: TrainOptions,
): Promise<TrainResult> {
  const r = options.resume;
  const init = r ? undefined : options.initialOptimizer;
  const batchSize = r?.options.batchSize ?? options.batchSize ?? 32;
  const lr = r?.options.lr ?? options.lr ?? init?.options.lr ?? 3e-4;
  const { beta1, beta2, eps } = r?.options ?? init?.options ?? {};
  const seed = r?.options.seed ?? options.seed ?? 0;
  const valFraction = r?.options.valFraction ?? options.valFraction ?? 0.15;
  const { epochs, onProgress, signal } = options;
  const where = 'trainAutoencoder';
  if (data.imageSize !== model.inputSize) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: the data's images are ${data.imageSize === undefined ? 'of their own sizes' : `${data.imageSize}x${data.imageSize}`}, the model takes ${model.inputSize}x${model.inputSize}. Load the data with size ${model.inputSize}.`,
    );
  }
  if (!(Number.isInteger(epochs) && epochs >= 1))
    throw new CbirError('INVALID_ARGUMENT', `${where}: epochs must be a positive integer, got ${epochs}.`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new CbirError('INVALID_ARGUMENT', `${where}: batchSize must be a positive integer, got ${batchSize}.`);
  const microBatch = Math.min(options.microBatch ?? chooseMicroBatch(model, batchSize, backendMemory()), batchSize);
  if (!(Number.isInteger(microBatch) && microBatch >= 1))
    throw new CbirError('INVALID_ARGUMENT', `${where}: microBatch must be a positive integer, got ${microBatch}.`);
  if (data.size < 2)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: need at least 2 images (one to train on, one to validate), got ${data.size}.`,
    );

  const vars = model.model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (r) {
    if (r.architecture !== model.architecture.name || r.inputSize !== model.inputSize) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: the checkpoint is for ${r.architecture} at ${r.inputSize}, the model is ${model.architecture.name} at ${model.inputSize}.`,
      );
    }
    r.params.forEach((p, i) => vars[i].assign(tf.tensor(p.data, p.shape)));
  }
  const adam = new Adam({ lr, beta1, beta2, eps });
  const adamState = r?.adam ?? init?.state;
  if (adamState && adamState.m.length)
    adam.setState(
      adamState,
      vars.map((v) => v.shape),
    );
  else if (adamState) adam.step = adamState.step;

  const dataId = { size: data.size, fingerprint: datasetFingerprint(data) };
  let resplit = false;
  if (r) {
    const changed = r.data
      ? r.data.size !== dataId.size || r.data.fingerprint !== dataId.fingerprint
      : [...r.split.train, ...r.split.val].some((i) => i >= data.size);
    if (changed && (options.onDataChange ?? 'error') === 'error') {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `${where}: the checkpoint was trained on ${r.data ? `${r.data.size} images (ids ${r.data.fingerprint})` : 'other data'}, this dataset has ${data.size} (ids ${dataId.fingerprint}). ` +
          "Resume with the same images, or pass onDataChange: 'resplit' (cbir train --resume --data-changed) to keep the weights and split the new data afresh.",
      );
    }
    resplit = changed;
  }
  const rng = r && !resplit ? Rng.fromState(r.rngState) : new Rng(seed);
  const split = r && !resplit ? r.split : splitIndices(data.size, valFraction, seed);
  if (split.train.length === 0 || split.val.length === 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: the split leaves ${split.train.length} training and ${split.val.length} validation images; use more images or another valFraction.`,
    );
  }
  const skipped = new Set(resplit ? [] : (r?.skipped ?? []));
  const history = [...(r?.history ?? [])];
  let bestValLoss = r?.bestValLoss ?? Infinity;
  let bestEpoch = r?.bestEpoch ?? -1;
  let epoch = r?.epoch ?? 0;
  let batch = resplit ? 0 : (r?.batch ?? 0);
  let order = resplit ? [] : (r?.order ?? []);
  let partial = resplit ? { lossSum: 0, count: 0 } : (r?.partial ?? { lossSum: 0, count: 0 });

  const snapshot = async (): Promise<Checkpoint> => ({
    architecture: model.architecture.name,
    inputSize: model.inputSize,
    epoch,
    batch,
    order: [...order],
    partial: { ...partial },
    split,
    skipped: [...skipped].sort((a, b) => a - b),
    rngState: rng.state,
    bestValLoss,
    bestEpoch,
    history: [...history],
    options: { batchSize, lr, seed, valFraction, epochs, beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps },
    data: dataId,
    params: await Promise.all(
      vars.map(async (v, i) => ({
        name: model.model.trainableWeights[i].originalName,
        shape: v.shape,
        data: (await v.data()) as Float32Array,
      })),
    ),
    adam: await adam.readState(),
  });

  /** Decodes the images at `indices`, skipping (and reporting) those that fail. */
  const load = async (indices: number[]): Promise<{ x: RawImage[]; used: number[] }> => {
    const out = await Promise.all(
      indices.map(async (i) => {
        if (skipped.has(i)) return undefined;
        try {
          return await data.read(i);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          skipped.add(i);
          onProgress?.({ stage: 'warning', code: 'IMAGE_SKIPPED', message: `${data.entry(i).id}: ${e.message}` });
          return undefined;
        }
      }),
    );
    const used = indices.filter((_, k) => out[k] !== undefined);
    return { x: out.filter((v): v is RawImage => v !== undefined), used };
  };
  const batches = (list: number[]) =>
    Array.from({ length: Math.ceil(list.length / batchSize) }, (_, b) =>
      list.slice(b * batchSize, (b + 1) * batchSize),
    );

  let stopped = false;
  let trainedThisCall = 0;
  const checkpointEvery = options.checkpointEvery ?? 50;
  if (!(Number.isInteger(checkpointEvery) && checkpointEvery >= 1))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: checkpointEvery must be a positive integer, got ${checkpointEvery}.`,
    );
  try {
    while (epoch < epochs) {
      const started = tf.util.now();
      // A checkpoint taken after the shuffle (stopped at batch 0) already holds this epoch's order.
      if (order.length === 0) {
        order = rng.shuffle([...split.train]);
        partial = { lossSum: 0, count: 0 };
      }
      const trainBatches = batches(order);
      let next = batch < trainBatches.length ? load(trainBatches[batch]) : undefined;
      while (batch < trainBatches.length) {
        if (signal?.aborted) {
          stopped = true;
          break;
        }
        const t0 = tf.util.now();
        const { x: images } = await next!;
        // Prefetch: the next batch decodes (in sharp's threads) while this one trains.
        next = batch + 1 < trainBatches.length ? load(trainBatches[batch + 1]) : undefined;
        if (images.length > 0) {
          const x = imagesToTensor(images, model.inputSize);
          let loss: number;
          try {
            const step = mseGradients(model, x, { vars, microBatch });
            loss = (await step.loss.data())[0];
            // A non-finite loss leaves the weights as they were: the error below says where, and the last checkpoint holds.
            if (Number.isFinite(loss)) adam.apply(vars, step.grads);
            tf.dispose([step.loss, ...step.grads]);
          } finally {
            x.dispose();
          }
          if (!Number.isFinite(loss)) {
            throw new NonFiniteError(
              `${where}: the training loss is ${loss} at epoch ${epoch}, batch ${batch} (images ${trainBatches[batch].map((i) => data.entry(i).id).join(', ')}); ` +
                'the weights were not updated. Lower lr, or check those images; resume from the last checkpoint.',
            );
          }
          partial.lossSum += loss * images.length;
          partial.count += images.length;
          onProgress?.({
            stage: 'train',
            epoch,
            epochs,
            batch,
            batches: trainBatches.length,
            loss,
            imagesPerSec: (images.length * 1000) / (tf.util.now() - t0),
          });
        }
        batch++;
        trainedThisCall++;
        // Mid-epoch checkpoints: after the run's first batch (a kill before the first epoch ends can then resume), then every checkpointEvery.
        if (
          options.onCheckpoint &&
          batch < trainBatches.length &&
          (trainedThisCall === 1 || trainedThisCall % checkpointEvery === 0)
        ) {
          await options.onCheckpoint(await snapshot(), 'last');
        }
      }
      if (stopped) break;
      if (partial.count === 0) {
        throw new CbirError(
          'IMAGE_DECODE',
          `${where}: none of the ${split.train.length} training images of epoch ${epoch} could be decoded (see the IMAGE_SKIPPED warnings); nothing was trained.`,
        );
      }
      const { loss: valLoss, count: valCount } = await evaluate(model, batches(split.val), load, microBatch);
      if (valCount === 0) {
        throw new CbirError(
          'IMAGE_DECODE',
          `${where}: none of the ${split.val.length} validation images could be decoded (see the IMAGE_SKIPPED warnings), so there is no validation loss to choose the best weights by. Fix or remove those images.`,
        );
      }
      if (!Number.isFinite(valLoss))
        throw new NonFiniteError(
          `${where}: the validation loss is ${valLoss} after epoch ${epoch}. Lower lr, or check the images.`,
        );
      const record = {
        epoch,
        trainLoss: partial.lossSum / partial.count,
        valLoss,
        seconds: (tf.util.now() - started) / 1000,
      };
      history.push(record);
      const improved = valLoss < bestValLoss;
      if (improved) {
        bestValLoss = valLoss;
        bestEpoch = epoch;
      }
      epoch++;
      batch = 0;
      order = [];
      partial = { lossSum: 0, count: 0 };
      onProgress?.({
        stage: 'epoch',
        epoch: record.epoch,
        epochs,
        trainLoss: record.trainLoss,
        valLoss,
        best: improved,
        seconds: record.seconds,
      });
      if (improved) await options.onCheckpoint?.(await snapshot(), 'best');
      await options.onCheckpoint?.(await snapshot(), 'last');
    }
    const checkpoint = await snapshot();
    if (stopped) {
      await options.onCheckpoint?.(checkpoint, 'last');
      throw new AbortedError<TrainResult>(
        `${where}: stopped by its signal at epoch ${epoch + 1} of ${epochs}, batch ${batch}; the error's partial holds the history and the checkpoint to resume from.`,
        { cause: signal?.reason, partial: { history, bestValLoss, bestEpoch, checkpoint } },
      );
    }
    return { history, bestValLoss, bestEpoch, checkpoint };
  } finally {
    adam.dispose();
  }
}

/** Validation loss: per-image MSE averaged over the images that decoded (`count`), `microBatch` images per pass. */
async function evaluate(
  model: Autoencoder,
  valBatches: number[][],
  load: (i: number[]) => Promise<{ x: RawImage[] }>,
  microBatch: number,
): Promise<{ loss: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const b of valBatches) {
    const { x: all } = await load(b);
    for (let start = 0; start < all.length; start += microBatch) {
      const images = all.slice(start, start + microBatch);
      const loss = tf.tidy(() => {
        const x = imagesToTensor(images, model.inputSize);
        return tf.losses.meanSquaredError(x, model.model.apply(x, { training: false }) as tf.Tensor);
      });
      sum += (await loss.data())[0] * images.length;
      loss.dispose();
      count += images.length;
    }
  }
  return { loss: count ? sum / count : NaN, count };
}

/** The number of items and the CRC-32 of their ids in order: what a checkpoint records of the data it trained on. */
function datasetFingerprint(data: ImageDataset): string {
  const ids = new TextEncoder().encode(Array.from({ length: data.size }, (_, i) => data.entry(i).id).join('\n'));
  return `${crc32(ids).toString(16).padStart(8, '0')}-${data.size}`;
}
