import { FormatError } from '../errors.js';
import { int64ToNumber, type NpyArray } from './npy.js';
import { unpickle } from './pickle.js';
import { halfToFloat } from './torch-tensor.js';

/**
 * A Python object rebuilt from a pickle without running any of its code: its class's name and the attribute dict its
 * `BUILD` set (`obj.__dict__`).
 *
 * @example
 * ```ts
 * const lsh = unpickleNumpy(bytes, 'lsh.p', { classes: ['lshashpy3.lshash.LSHash'] }) as PyObject;
 * lsh.className;           // 'lshashpy3.lshash.LSHash'
 * lsh.state.get('hash_size');   // 12
 * ```
 */
export class PyObject {
  /** The attributes `BUILD` set, by name. */
  readonly state = new Map<unknown, unknown>();
  constructor(readonly className: string) {}
}

/** What `unpickleNumpy` accepts besides numpy's arrays. */
export interface NumpyPickleOptions {
  /** Fully qualified classes (`module.Name`) that may be rebuilt as {@link PyObject}s; every other class is refused. */
  classes?: readonly string[];
}

/** numpy's globals for arrays, under numpy 1's `numpy.core` and numpy 2's `numpy._core` names. */
const RECONSTRUCT = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct']);
const FROMBUFFER = new Set(['numpy.core.numeric._frombuffer', 'numpy._core.numeric._frombuffer']);

/** numpy dtypes read, by kind and size, to the typed array that holds them. */
const DTYPES: Record<string, { bytes: number; read: (v: DataView, o: number, little: boolean) => number }> = {
  f8: { bytes: 8, read: (v, o, l) => v.getFloat64(o, l) },
  f4: { bytes: 4, read: (v, o, l) => v.getFloat32(o, l) },
  f2: { bytes: 2, read: (v, o, l) => halfToFloat(v.getUint16(o, l)) },
  i8: { bytes: 8, read: (v, o, l) => int64ToNumber(v.getBigInt64(o, l), 'unpickleNumpy: an integer array') },
  u8: { bytes: 8, read: (v, o, l) => int64ToNumber(v.getBigUint64(o, l), 'unpickleNumpy: an integer array') },
  i4: { bytes: 4, read: (v, o, l) => v.getInt32(o, l) },
  u4: { bytes: 4, read: (v, o, l) => v.getUint32(o, l) },
  i2: { bytes: 2, read: (v, o, l) => v.getInt16(o, l) },
  u2: { bytes: 2, read: (v, o, l) => v.getUint16(o, l) },
  i1: { bytes: 1, read: (v, o) => v.getInt8(o) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  b1: { bytes: 1, read: (v, o) => v.getUint8(o) },
};

class Marker {
  constructor(readonly name: string) {}
}
const NDARRAY = new Marker('numpy.ndarray');
const DTYPE = new Marker('numpy.dtype');
const CODECS_ENCODE = new Marker('_codecs.encode');

/** A dtype being rebuilt: `dtype('f8', False, True)` then `BUILD` with its byte order. */
class DType {
  order = '|';
  constructor(readonly code: string) {}
}

/** An array being rebuilt by `_reconstruct(ndarray, (0,), b'b')` then `BUILD` with its state. */
class PendingArray {
  array?: NpyArray;
}

/**
 * Reads a pickle of numpy arrays (protocols 2 to 5, numpy 1 or 2), and of plain objects of the classes `options`
 * allows, without running code: the allow-list is numpy's array globals (`_reconstruct`, `ndarray`, `dtype`,
 * `_frombuffer`, and `_codecs.encode`, which protocol 2 uses for bytes). Arrays come back as {@link NpyArray}s
 * (float64, float32 and integers, C or Fortran order, any byte order, read into C order), dicts as `Map`s, lists and
 * tuples as arrays, objects as {@link PyObject}s.
 *
 * Every array's size is checked against the bytes the pickle holds before anything is allocated.
 *
 * @param bytes - The pickle.
 * @param source - A name for it in error messages (its path, say).
 * @throws {@link FormatError} for a global outside the allow-list (named), an object array, an unknown dtype, or an
 *   array whose data does not match its shape.
 *
 * @example
 * ```ts
 * const d = unpickleNumpy(await readFile('features.pkl'), 'features.pkl') as Map<string, unknown>;
 * const features = d.get('features') as NpyArray;   // e.g. shape [4738, 256, 16, 16], dtype '<f8'
 * ```
 */
export function unpickleNumpy(bytes: Uint8Array, source = 'pickle', options: NumpyPickleOptions = {}): unknown {
  const classes = new Set(options.classes ?? []);
  const fail = (what: string): never => {
    throw new FormatError(`unpickleNumpy: ${source} ${what}`);
  };
  const result = unpickle(
    bytes,
    {
      findClass(module, name) {
        const full = `${module}.${name}`;
        if (RECONSTRUCT.has(full) || FROMBUFFER.has(full)) return new Marker(full);
        if (full === 'numpy.ndarray') return NDARRAY;
        if (full === 'numpy.dtype') return DTYPE;
        if (full === '_codecs.encode') return CODECS_ENCODE;
        if (classes.has(full)) return new Marker(full);
        return fail(
          `refers to ${full}, which cbir does not load (it reads numpy arrays${classes.size ? ` and ${[...classes].join(', ')}` : ''} ` +
            'and never runs code from a pickle). Save plain dicts, lists and numpy arrays.',
        );
      },
      reduce(callable, args) {
        if (!(callable instanceof Marker)) return fail('calls something that is not a function.');
        if (callable === CODECS_ENCODE) {
          const [text, encoding] = args as [unknown, unknown];
          if (typeof text !== 'string' || encoding !== 'latin1')
            return fail("uses _codecs.encode other than for latin1 bytes (protocol 2's bytes).");
          const out = new Uint8Array(text.length);
          for (let i = 0; i < text.length; i++) {
            const c = text.charCodeAt(i);
            if (c > 255) return fail('has latin1 bytes with a character above 255.');
            out[i] = c;
          }
          return out;
        }
        if (callable === DTYPE) {
          const [code] = args as [unknown];
          if (typeof code !== 'string') return fail('builds a dtype from something other than a string.');
          return new DType(code);
        }
        if (RECONSTRUCT.has(callable.name)) {
          if (args[0] !== NDARRAY) return fail('reconstructs a subclass of ndarray, which cbir does not read.');
          return new PendingArray();
        }
        if (FROMBUFFER.has(callable.name)) {
          const [buffer, dtype, shape, order] = args as [unknown, unknown, unknown, unknown];
          return toArray(buffer, dtype, shape, order === 'F', fail);
        }
        return fail(`calls ${callable.name}, which cbir does not evaluate.`);
      },
      newObj(cls, args) {
        if (!(cls instanceof Marker) || !classes.has(cls.name))
          return fail('builds an object of a class outside the allow-list.');
        if (args.length) return fail(`builds ${cls.name} with arguments, which cbir does not read.`);
        return new PyObject(cls.name);
      },
      build(obj, state) {
        if (obj instanceof DType) {
          const order = (state as unknown[])[1];
          if (typeof order !== 'string') fail('has a dtype state without a byte order.');
          obj.order = order as string;
        } else if (obj instanceof PendingArray) {
          const [, shape, dtype, fortran, data] = state as [unknown, unknown, unknown, unknown, unknown];
          obj.array = toArray(data, dtype, shape, fortran === true, fail);
        } else if (obj instanceof PyObject) {
          if (!(state instanceof Map)) fail(`sets the state of ${obj.className} from something other than a dict.`);
          for (const [k, v] of state as Map<unknown, unknown>) obj.state.set(k, v);
        } else fail('sets the state of an object cbir does not rebuild.');
      },
      persistentLoad() {
        return fail('uses persistent ids (a torch file?); load it with readTorchFile.');
      },
    },
    source,
  );
  return resolvePending(result);
}

/** Replaces rebuilt arrays' placeholders by the arrays, throughout the value (memo sharing kept). */
function resolvePending(v: unknown, seen = new Map<unknown, unknown>()): unknown {
  if (v instanceof PendingArray) return v.array;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return v;
  if (seen.has(v)) return seen.get(v);
  if (Array.isArray(v)) {
    seen.set(v, v);
    v.forEach((x, i) => (v[i] = resolvePending(x, seen)));
  } else if (v instanceof Map) {
    seen.set(v, v);
    for (const [k, x] of v) v.set(k, resolvePending(x, seen));
  } else if (v instanceof PyObject) {
    seen.set(v, v);
    for (const [k, x] of v.state) v.state.set(k, resolvePending(x, seen));
  }
  return v;
}

function toArray(
  data: unknown,
  dtype: unknown,
  shape: unknown,
  fortran: boolean,
  fail: (what: string) => never,
): NpyArray {
  if (!(dtype instanceof DType)) return fail('has an array without a dtype.');
  if (dtype.code === 'O') return fail('holds an array of Python objects (dtype object), which cbir does not read.');
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    return fail(`has an array shape ${String(shape)}; expected non-negative integers.`);
  if (!(data instanceof Uint8Array)) return fail('has array data that is not bytes.');
  const kind = DTYPES[dtype.code.replace(/^[<>=|]/, '')];
  if (!kind) return fail(`has an array of dtype ${dtype.code}; cbir reads ${Object.keys(DTYPES).join(', ')}.`);
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (count * kind.bytes !== data.length)
    return fail(
      `has an array of shape [${shape.join(', ')}] (${count * kind.bytes} bytes of ${dtype.code}) with ${data.length} bytes of data.`,
    );
  const little = dtype.order !== '>';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = dtype.code.endsWith('f4') ? new Float32Array(count) : new Float64Array(count);
  if (!fortran) for (let i = 0; i < count; i++) out[i] = kind.read(view, i * kind.bytes, little);
  else {
    // Fortran order: the first index varies fastest in the data; write each value at its C-order position.
    const dims = shape as number[];
    const idx = new Array<number>(dims.length).fill(0);
    for (let f = 0; f < count; f++) {
      let c = 0;
      for (let d = 0; d < dims.length; d++) c = c * dims[d] + idx[d];
      out[c] = kind.read(view, f * kind.bytes, little);
      for (let d = 0; d < dims.length && ++idx[d] === dims[d]; d++) idx[d] = 0;
    }
  }
  const name = dtype.code.replace(/^[<>=|]/, '');
  return {
    dtype: `${name.length === 2 && name[1] === '1' ? '|' : '<'}${name}`,
    shape: [...(shape as number[])],
    data: out,
  };
}
