import { FormatError } from '../errors.js';

/** Element types of tensors found in PyTorch files (safetensors names in comments). */
export type TorchDType =
  | 'float32' // F32
  | 'float64' // F64
  | 'float16' // F16
  | 'bfloat16' // BF16
  | 'int64' // I64
  | 'int32' // I32
  | 'int16' // I16
  | 'int8' // I8
  | 'uint8' // U8
  | 'bool'; // BOOL

/** The most values one tensor of a weight file may hold (1 GiB of float32): a bound on what loading allocates. */
export const MAX_TENSOR_VALUES = 2 ** 28;

/** Bytes per element of each {@link TorchDType}. */
export const DTYPE_BYTES: Readonly<Record<TorchDType, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** An IEEE half-precision bit pattern as a number. @internal */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * A tensor read from a PyTorch file: element type, shape (PyTorch order, e.g. Conv2d weights `[O, I, kH, kW]`),
 * and a strided view of little-endian storage bytes. Values are decoded on demand by {@link TorchTensor.toFloat32}.
 *
 * @example
 * ```ts
 * const { stateDict } = readTorchStateDict(bytes);
 * const w: TorchTensor = stateDict.get('encoder.0.weight')!;
 * console.log(w.shape, w.dtype);
 * ```
 */
export class TorchTensor {
  constructor(
    readonly dtype: TorchDType,
    readonly shape: readonly number[],
    /** The storage's little-endian bytes (a view into the file it came from). */
    readonly storage: Uint8Array,
    /** Element strides; defaults to row-major contiguous. */
    readonly strides: readonly number[] = contiguousStrides(shape),
    /** Offset of the first element, in elements. */
    readonly offset = 0,
  ) {
    const fail = (what: string): never => {
      throw new FormatError(
        `TorchTensor: a ${dtype} tensor of shape [${shape.join(', ')}], strides [${strides.join(', ')}], offset ${offset} ${what} (corrupted or hostile file).`,
      );
    };
    const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    if (!shape.every(count) || !strides.every(count) || strides.length !== shape.length || !count(offset))
      fail('has a negative, fractional or missing size, stride or offset');
    const size = this.size;
    // Every allocation is bounded by the file: a tensor holds no more values than its storage (stride-0, expanded
    // tensors that would grow on load are refused), and never more than MAX_TENSOR_VALUES.
    const stored = Math.floor(storage.byteLength / DTYPE_BYTES[dtype]);
    if (size > stored || size > MAX_TENSOR_VALUES)
      fail(
        `claims ${size} values; its storage holds ${stored}${size > MAX_TENSOR_VALUES ? ` and cbir reads at most ${MAX_TENSOR_VALUES} per tensor` : ''}`,
      );
    if (size > 0) {
      let last = offset;
      for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * strides[d];
      if ((last + 1) * DTYPE_BYTES[dtype] > storage.byteLength) {
        throw new FormatError(
          `TorchTensor: a ${dtype} tensor of shape [${shape.join(', ')}] needs ${(last + 1) * DTYPE_BYTES[dtype]} bytes ` +
            `of storage, but only ${storage.byteLength} are present (truncated or corrupted file).`,
        );
      }
    }
  }

  /**
   * A contiguous float32 tensor holding a copy of `data`.
   *
   * @param data - Values in row-major order for `shape`.
   * @param shape - PyTorch's shape, e.g. `[O, I, kH, kW]` for a Conv2d weight; `[]` for a scalar.
   * @example
   * ```ts
   * const step = TorchTensor.fromFloat32(Float32Array.of(5), []);   // torch.tensor(5.)
   * ```
   */
  static fromFloat32(data: Float32Array, shape: readonly number[]): TorchTensor {
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) {
      throw new FormatError(
        `TorchTensor.fromFloat32: shape [${shape.join(', ')}] holds ${size} values, got ${data.length}.`,
      );
    }
    return new TorchTensor('float32', [...shape], new Uint8Array(data.slice().buffer));
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The values as a new row-major Float32Array (integers and half floats converted). */
  toFloat32(): Float32Array {
    const out = new Float32Array(this.size);
    const view = new DataView(this.storage.buffer, this.storage.byteOffset, this.storage.byteLength);
    const read = reader(this.dtype, view);
    const contiguous = this.strides.every((s, d) => s === contiguousStrides(this.shape)[d]);
    if (contiguous) {
      if (this.dtype === 'float32' && (this.storage.byteOffset + this.offset * 4) % 4 === 0) {
        out.set(new Float32Array(this.storage.buffer, this.storage.byteOffset + this.offset * 4, out.length));
        return out;
      }
      for (let i = 0; i < out.length; i++) out[i] = read(this.offset + i);
      return out;
    }
    const rank = this.shape.length;
    const index = new Array<number>(rank).fill(0);
    for (let i = 0; i < out.length; i++) {
      let at = this.offset;
      for (let d = 0; d < rank; d++) at += index[d] * this.strides[d];
      out[i] = read(at);
      for (let d = rank - 1; d >= 0; d--) {
        if (++index[d] < this.shape[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }
}

/** Row-major strides, in elements, for `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

function reader(dtype: TorchDType, v: DataView): (i: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => v.getFloat32(i * 4, true);
    case 'float64':
      return (i) => v.getFloat64(i * 8, true);
    case 'float16':
      return (i) => halfToFloat(v.getUint16(i * 2, true));
    case 'bfloat16': {
      const scratch = new DataView(new ArrayBuffer(4));
      return (i) => (scratch.setUint32(0, v.getUint16(i * 2, true) << 16, true), scratch.getFloat32(0, true));
    }
    case 'int64':
      return (i) => Number(v.getBigInt64(i * 8, true));
    case 'int32':
      return (i) => v.getInt32(i * 4, true);
    case 'int16':
      return (i) => v.getInt16(i * 2, true);
    case 'int8':
      return (i) => v.getInt8(i);
    case 'uint8':
    case 'bool':
      return (i) => v.getUint8(i);
  }
}
