import { FormatError } from '../errors.js';
import { crc32 } from '../io/crc32.js';

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
  options: { batchSize: number; lr: number; seed: number; valFraction: number; epochs: number };
  /** Parameters in the model's weight order, with their shapes. */
  params: { name: string; shape: number[]; data: Float32Array }[];
  adam: { step: number; m: Float32Array[]; v: Float32Array[] };
}

const MAGIC = 'CBIRCKPT';
const VERSION = 1;

/**
 * Serialises a {@link Checkpoint}: `CBIRCKPT`, format version (u32), JSON header length (u32), JSON header, float32
 * tensors (params, then Adam's m, then v), CRC-32 of everything before it (u32). Little-endian.
 */
export function serializeCheckpoint(c: Checkpoint): Uint8Array {
  const { params, adam, ...rest } = c;
  const header = new TextEncoder().encode(JSON.stringify({
    ...rest,
    bestValLoss: Number.isFinite(c.bestValLoss) ? c.bestValLoss : null,
    params: params.map((p) => ({ name: p.name, shape: p.shape })),
    adamStep: adam.step,
    hasMoments: adam.m.length > 0,
  }));
  const arrays = [...params.map((p) => p.data), ...adam.m, ...adam.v];
  const bodyBytes = arrays.reduce((a, x) => a + x.byteLength, 0);
  const out = new Uint8Array(8 + 8 + header.length + bodyBytes + 4);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, header.length, true);
  out.set(header, 16);
  let at = 16 + header.length;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  dv.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

/**
 * Reads {@link serializeCheckpoint}'s bytes, verifying magic, version, sizes and checksum.
 *
 * @throws {@link FormatError} naming `source` if any check fails.
 */
export function deserializeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  const fail = (what: string): never => {
    throw new FormatError(`deserializeCheckpoint: ${source} ${what}. Delete it to start over, or pass another checkpoint.`);
  };
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('is not a cbir checkpoint (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION) fail(`has format version ${version}; this cbir reads version ${VERSION}`);
  const headerLen = dv.getUint32(12, true);
  if (16 + headerLen + 4 > bytes.length) fail('is truncated');
  const end = bytes.length - 4;
  if (crc32(bytes.subarray(0, end)) !== dv.getUint32(end, true)) fail('fails its checksum (truncated or corrupted)');
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen)));
  let at = 16 + headerLen;
  const take = (shape: number[]) => {
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    if (at + n * 4 > end) fail('is truncated');
    const data = new Float32Array(bytes.slice(at, at + n * 4).buffer);
    at += n * 4;
    return data;
  };
  const shapes: number[][] = h.params.map((p: { shape: number[] }) => p.shape);
  const params = h.params.map((p: { name: string; shape: number[] }) => ({ name: p.name, shape: p.shape, data: take(p.shape) }));
  const m = h.hasMoments ? shapes.map(take) : [];
  const v = h.hasMoments ? shapes.map(take) : [];
  if (at !== end) fail(`has ${end - at} unexpected bytes`);
  const { adamStep, hasMoments: _, ...rest } = h;
  return { ...rest, bestValLoss: h.bestValLoss ?? Infinity, params, adam: { step: adamStep, m, v } } as Checkpoint;
}
