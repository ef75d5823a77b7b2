import { FormatError } from '../errors.js';
import { readZip } from './zip.js';

/** An array read from a `.npy` file. */
export interface NpyArray {
  /** NumPy dtype string, e.g. `<f4`. */
  dtype: string;
  shape: number[];
  /** Values in C (row-major) order. */
  data: Float32Array | Float64Array | Int32Array | Uint8Array;
  // `<i8` arrays (numpy's default integers: ids, indexes) are read into a Float64Array, exact below 2^53.
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Reads a NumPy `.npy` file (format versions 1 to 3) holding little-endian `f4`, `f8`, `i4`, `i8` or `u1` values in C
 * order. `i8` values (numpy's default integer) come back in a Float64Array and must lie within +-2^53.
 *
 * @throws {@link FormatError} for another dtype, Fortran order, a bad magic, a malformed shape or truncation.
 *
 * @example
 * ```ts
 * const { shape, data } = readNpy(await readFile('features.npy'));
 * ```
 */
export function readNpy(bytes: Uint8Array, source = '.npy file'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new FormatError(`readNpy: ${source} does not start with the .npy magic.`);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const dtype = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const shape = (shapeText ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (!dtype || fortran || shapeText === undefined || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new FormatError(
      `readNpy: ${source} has header ${header.trim()}; expected a C-order array with a shape of non-negative integers.`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const ctor = { '<f4': Float32Array, '<f8': Float64Array, '<i4': Int32Array, '<i8': BigInt64Array, '|u1': Uint8Array }[
    dtype
  ];
  if (!ctor) throw new FormatError(`readNpy: ${source} has dtype ${dtype}; supported: <f4, <f8, <i4, <i8, |u1.`);
  // The file must hold every byte its header claims before anything is allocated.
  if (start + count * ctor.BYTES_PER_ELEMENT > bytes.length) {
    throw new FormatError(
      `readNpy: ${source} is truncated: its header claims ${count} values of ${dtype}, ${start + count * ctor.BYTES_PER_ELEMENT} bytes in all; the file has ${bytes.length}.`,
    );
  }
  // Uint8Array.prototype.slice copies even for a Node Buffer, whose own slice() is a view into a shared pool.
  const copy = Uint8Array.prototype.slice.call(bytes, start, start + count * ctor.BYTES_PER_ELEMENT);
  if (ctor !== BigInt64Array) return { dtype, shape, data: new (ctor as Float32ArrayConstructor)(copy.buffer) };
  const big = new BigInt64Array(copy.buffer);
  return { dtype, shape, data: Float64Array.from(big, (v) => int64ToNumber(v, `readNpy: ${source}`)) };
}

/**
 * Writes a float32 array as a `.npy` file (format 1.0, `<f4`, C order) that `numpy.load` reads.
 *
 * @param data - Values in row-major order.
 * @param shape - The array's shape; its product must equal `data.length`.
 *
 * @example
 * ```ts
 * await writeFile('features.npy', writeNpy(matrix.data, [matrix.rows, matrix.cols]));   // numpy.load reads it
 * ```
 */
export function writeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  if (shape.reduce((a, b) => a * b, 1) !== data.length) {
    throw new FormatError(
      `writeNpy: shape [${shape.join(', ')}] has ${shape.reduce((a, b) => a * b, 1)} elements, data has ${data.length}.`,
    );
  }
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/**
 * Reads a NumPy `.npz` archive (`numpy.savez` or `savez_compressed`) into arrays by name (without `.npy`).
 *
 * @param source - A name for the archive in error messages (its path, say).
 *
 * @example
 * ```ts
 * const arrays = readNpz(await readFile('planes.npz'), 'planes.npz');
 * arrays.get('arr_0')?.shape;   // [hashSize, inputDim]
 * ```
 */
export function readNpz(bytes: Uint8Array, source = '.npz file'): Map<string, NpyArray> {
  return new Map(
    readZip(bytes, source).map((e) => [e.name.replace(/\.npy$/, ''), readNpy(e.data, `${source}: ${e.name}`)]),
  );
}

/** A 64-bit integer as a number, refused beyond +-2^53 where a double would round it. @internal */
export function int64ToNumber(v: bigint, where: string): number {
  if (v > 9007199254740992n || v < -9007199254740992n)
    throw new FormatError(`${where} holds the integer ${v}, beyond 2^53.`);
  return Number(v);
}
