import { readFramed, writeFramed } from '../io/framed-file.js';
import { checkFields, type Rule, type Shape } from '../io/spec-rules.js';
import type { AdamState } from './adam.js';

/** One epoch's record. Losses are MSE per image (mean over its pixels), averaged over the images. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  seconds: number;
}

/**
 * Everything needed to continue training exactly where it stopped: weights, Adam's step and moments, the split,
 * the position in the current epoch (its order and the next batch), the RNG state, and the history.
 */
export interface Checkpoint {
  architecture: string;
  inputSize: number;
  /** Epochs completed. */
  epoch: number;
  /** Next batch of the current epoch (0 at an epoch boundary). */
  batch: number;
  /** Training order of the current epoch (indices into the dataset); empty at an epoch boundary. */
  order: number[];
  /** Loss sum and image count of the current epoch's batches so far. */
  partial: { lossSum: number; count: number };
  split: { train: number[]; val: number[] };
  /** Items that failed to decode, skipped from then on. */
  skipped: number[];
  rngState: number[];
  bestValLoss: number;
  bestEpoch: number;
  history: EpochRecord[];
  /** The run's settings; Adam's betas and eps (absent in older checkpoints: PyTorch's defaults). */
  options: {
    batchSize: number;
    lr: number;
    seed: number;
    valFraction: number;
    epochs: number;
    /** Adam's first-moment decay. @defaultValue 0.9 (absent in older checkpoints) */
    beta1?: number;
    /** Adam's second-moment decay. @defaultValue 0.999 (absent in older checkpoints) */
    beta2?: number;
    /** Adam's epsilon. @defaultValue 1e-8 (absent in older checkpoints) */
    eps?: number;
  };
  /** What it was trained on: the number of items and a fingerprint of their ids in order (absent in older checkpoints). */
  data?: { size: number; fingerprint: string };
  /** Parameters in the model's weight order, with their shapes. */
  params: { name: string; shape: number[]; data: Float32Array }[];
  adam: AdamState;
}

const COUNT: Rule = { int: [0, 2 ** 40] };
const ROWS: Rule = { ints: [0, 2 ** 32], length: [0, 1 << 26] };
const LOSS: Rule = { num: [0, 1e30] };
/** Every field of a checkpoint's header, as {@link serializeCheckpoint} writes it. */
const CHECKPOINT_HEADER: Shape = {
  architecture: { oneOf: ['ConvAutoencoder', 'ConvAutoencoderV2'] },
  inputSize: { int: [8, 4096] },
  epoch: COUNT,
  batch: COUNT,
  order: ROWS,
  partial: { shape: { lossSum: { nullOr: LOSS }, count: COUNT } },
  split: { shape: { train: ROWS, val: ROWS } },
  skipped: ROWS,
  rngState: { ints: [0, 2 ** 32 - 1], length: [4, 4] },
  bestValLoss: { nullOr: LOSS }, // null: no validation yet (Infinity)
  bestEpoch: { int: [-1, 2 ** 40] },
  // A loss that was not finite (a diverged run, no validation images) is written as null.
  history: {
    list: { epoch: COUNT, trainLoss: { nullOr: LOSS }, valLoss: { nullOr: LOSS }, seconds: { num: [0, 1e12] } },
    length: [0, 1 << 20],
  },
  options: {
    shape: {
      batchSize: { int: [1, 1 << 16] },
      lr: { num: [0, 10], above: true },
      seed: { int: [0, 2 ** 32] },
      valFraction: { num: [0, 1] },
      epochs: { int: [1, 1 << 24] },
      beta1: { num: [0, 1] },
      beta2: { num: [0, 1] },
      eps: { num: [0, 1], above: true },
    },
  },
  data: { shape: { size: COUNT, fingerprint: { str: 64 } } },
  params: { list: { name: { str: 256 }, shape: { ints: [1, 1 << 16], length: [0, 8] } }, length: [1, 4096] },
  adamStep: COUNT,
  hasMoments: { bool: true },
};

const MAGIC = 'CBIRCKPT';
const VERSION = 1;

/**
 * Serialises a {@link Checkpoint} as a framed cbir file (`CBIRCKPT`; see `writeFramed`): the JSON header holds all but
 * the tensors, the body the params, then Adam's m, then v.
 *
 * @example
 * ```ts
 * await writeFileAtomic('out/last.ckpt', serializeCheckpoint(checkpoint));
 * ```
 */
export function serializeCheckpoint(c: Checkpoint): Uint8Array {
  const { params, adam, ...rest } = c;
  const header = {
    ...rest,
    bestValLoss: Number.isFinite(c.bestValLoss) ? c.bestValLoss : null,
    params: params.map((p) => ({ name: p.name, shape: p.shape })),
    adamStep: adam.step,
    hasMoments: adam.m.length > 0,
  };
  return writeFramed(MAGIC, VERSION, header, [...params.map((p) => p.data), ...adam.m, ...adam.v]);
}

/**
 * Reads {@link serializeCheckpoint}'s bytes, verifying magic, version, sizes and checksum.
 *
 * @throws {@link FormatError} naming `source` if any check fails.
 *
 * @example
 * ```ts
 * const ckpt = deserializeCheckpoint(await readFile('out/last.ckpt'), 'out/last.ckpt');
 * await trainAutoencoder(model, data, { epochs: 20, resume: ckpt });
 * ```
 */
export function deserializeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const f = readFramed<
    Record<string, unknown> & {
      params: { name: string; shape: number[] }[];
      adamStep: number;
      hasMoments: boolean;
      bestValLoss: number | null;
    }
  >(bytes, MAGIC, VERSION, 'deserializeCheckpoint', source, 'Delete it to start over, or pass another checkpoint.');
  const h = f.header;
  // The checksum proves the bytes are the ones written; the rules refuse a header written with hostile values.
  checkFields(
    h,
    CHECKPOINT_HEADER,
    `deserializeCheckpoint: ${source}`,
    'Delete it to start over, or pass another checkpoint.',
  );
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const params = h.params.map((p) => ({ name: p.name, shape: p.shape, data: f.take(size(p.shape)) }));
  const m = h.hasMoments ? h.params.map((p) => f.take(size(p.shape))) : [];
  const v = h.hasMoments ? h.params.map((p) => f.take(size(p.shape))) : [];
  f.end();
  const { adamStep, hasMoments: _, params: __, ...rest } = h;
  return {
    ...rest,
    bestValLoss: h.bestValLoss ?? Infinity,
    params,
    adam: { step: adamStep, m, v },
  } as unknown as Checkpoint;
}
