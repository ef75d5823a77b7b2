import { FormatError } from '../errors.js';
import { pickle, PyCall, PyGlobal, PyPersistentId, PyTuple, unpickle, type PickleValue } from './pickle.js';
import { contiguousStrides, DTYPE_BYTES, TorchTensor, type TorchDType } from './torch-tensor.js';
import { isZip, readZip, writeZip } from './zip.js';

const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A storage type marker (`torch.FloatStorage`, ...) met in the pickle. */
class StorageType {
  constructor(readonly dtype: TorchDType) {}
}

type Callable = (args: unknown[]) => unknown;

/**
 * Reads a file written by `torch.save` (the zip format, PyTorch >= 1.6) without Python: the zip archive, its
 * `data.pkl` pickle and the tensor storages it refers to. Only what state dicts and training checkpoints contain is
 * understood (dicts, lists, tuples, numbers, strings, tensors); anything else is rejected with a clear error, and no
 * code from the file is ever run.
 *
 * @param bytes - The whole file.
 * @param source - A name for the file in error messages.
 * @returns The unpickled object: Python dicts as `Map`, tensors as {@link TorchTensor}.
 * @throws {@link FormatError} for a non-zip or legacy file, truncation, a CRC failure or an unsupported pickle feature.
 *
 * @example
 * ```ts
 * const obj = readTorchFile(await readFile('autoencoder_checkpoint.pth'));   // the unpickled object tree (dicts as Maps)
 * ```
 */
export function readTorchFile(bytes: Uint8Array, source = 'torch file'): unknown {
  if (!isZip(bytes)) {
    const legacy = bytes.length > 2 && bytes[0] === 0x80;
    throw new FormatError(
      `readTorchFile: ${source} is not a zip archive` +
        (legacy
          ? ' (it looks like the legacy torch.save format). Re-save it with torch.save(obj, path) on PyTorch >= 1.6.'
          : '. Expected a file written by torch.save (PyTorch >= 1.6) or a safetensors file.'),
    );
  }
  const entries = readZip(bytes, source);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl') || e.name === 'data.pkl');
  if (!pkl)
    throw new FormatError(
      `readTorchFile: ${source} is a zip archive without data.pkl; it was not written by torch.save.`,
    );
  const prefix = pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
  const byteorder = entries.find((e) => e.name === `${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder.data).trim() !== 'little') {
    throw new FormatError(
      `readTorchFile: ${source} was saved on a big-endian machine; only little-endian files are read.`,
    );
  }
  const storages = new Map(
    entries.filter((e) => e.name.startsWith(`${prefix}data/`)).map((e) => [e.name.slice(prefix.length + 5), e.data]),
  );

  const globals: Record<string, unknown> = {
    'collections.OrderedDict': ((): unknown => new Map()) as Callable,
    'torch._utils._rebuild_tensor_v2': ((args: unknown[]) => {
      const [storage, offset, size, stride] = args as [
        { dtype: TorchDType; bytes: Uint8Array },
        number,
        number[],
        number[],
      ];
      return new TorchTensor(storage.dtype, size, storage.bytes, stride, offset);
    }) as Callable,
    'torch._utils._rebuild_parameter': ((args: unknown[]) => args[0]) as Callable,
    'torch._utils._rebuild_parameter_with_state': ((args: unknown[]) => args[0]) as Callable,
  };
  return unpickle(
    pkl.data,
    {
      findClass(module, name) {
        if (module === 'torch' && STORAGE_DTYPES[name]) return new StorageType(STORAGE_DTYPES[name]);
        const fn = globals[`${module}.${name}`];
        if (!fn) {
          throw new FormatError(
            `readTorchFile: ${source} refers to ${module}.${name}, which cbir does not read (only state dicts and ` +
              'checkpoints of tensors, numbers and strings are supported). Save model.state_dict() instead of the model.',
          );
        }
        return fn;
      },
      reduce(callable, args) {
        if (typeof callable !== 'function')
          throw new FormatError(`readTorchFile: ${source} calls something that is not a supported function.`);
        return (callable as Callable)(args);
      },
      persistentLoad(pid) {
        const [kind, type, key] = pid as [string, StorageType, string];
        if (kind !== 'storage' || !(type instanceof StorageType)) {
          throw new FormatError(
            `readTorchFile: ${source} has a persistent id of kind ${String(kind)}; only tensor storages are read.`,
          );
        }
        const data = storages.get(String(key));
        if (!data)
          throw new FormatError(`readTorchFile: ${source} is missing storage data/${key} (truncated archive?).`);
        return { dtype: type.dtype, bytes: data };
      },
    },
    `${source} (data.pkl)`,
  );
}

const STORAGE_NAMES = Object.fromEntries(
  Object.entries(STORAGE_DTYPES).map(([name, dtype]) => [dtype, name]),
) as Record<TorchDType, string>;

/**
 * Writes `value` as `torch.save(value, path)` would (the zip format of PyTorch >= 1.6, pickle protocol 2): `Map`s
 * become dicts, arrays lists, {@link PyTuple}s tuples, {@link TorchTensor}s tensors (each with a storage of its own,
 * `requires_grad=False`), and a `Map` wrapped as `PyCall` of `collections.OrderedDict` an `OrderedDict` (see
 * {@link orderedDict}). `torch.load` reads the result, and so does {@link readTorchFile}.
 *
 * @param value - The object to save.
 * @param options - `archive`: the folder name inside the zip (PyTorch uses the file's stem, or `archive`).
 * @returns The file's bytes.
 * @throws {@link CbirError} (`INVALID_ARGUMENT`) for a value that is not picklable.
 *
 * @example
 * ```ts
 * const bytes = writeTorchFile(new Map([['epoch', 3], ['weight', TorchTensor.fromFloat32(w, [16, 3, 3, 3])]]));
 * await writeFile('out.pt', bytes);   // torch.load('out.pt') -> {'epoch': 3, 'weight': tensor(...)}
 * ```
 */
export function writeTorchFile(value: unknown, options: { archive?: string } = {}): Uint8Array {
  const archive = options.archive ?? 'archive';
  const storages: Uint8Array[] = [];
  const rebuild = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
  const convert = (v: unknown): PickleValue => {
    if (v instanceof TorchTensor) {
      const contiguous = v.offset === 0 && v.strides.every((s, d) => s === contiguousStrides(v.shape)[d]);
      const t = contiguous ? v : TorchTensor.fromFloat32(v.toFloat32(), v.shape);
      const key = String(storages.length);
      storages.push(t.storage.subarray(0, t.size * DTYPE_BYTES[t.dtype]));
      const pid = new PyPersistentId(
        new PyTuple(['storage', new PyGlobal('torch', STORAGE_NAMES[t.dtype]), key, 'cpu', t.size]),
      );
      return new PyCall(
        rebuild,
        new PyTuple([
          pid,
          0,
          new PyTuple([...t.shape]),
          new PyTuple(contiguousStrides(t.shape)),
          false,
          orderedDict(new Map()),
        ]),
      );
    }
    if (v instanceof PyCall)
      return new PyCall(
        v.callable,
        new PyTuple(v.args.items.map(convert)),
        v.items && new Map([...v.items].map(([k, x]) => [k, convert(x)])),
      );
    if (v instanceof PyTuple) return new PyTuple(v.items.map(convert));
    if (Array.isArray(v)) return v.map(convert);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [convert(k), convert(x)]));
    return v as PickleValue;
  };
  const data = pickle(convert(value));
  const text = new TextEncoder();
  return writeZip([
    { name: `${archive}/data.pkl`, data },
    { name: `${archive}/byteorder`, data: text.encode('little') },
    ...storages.map((bytes, i) => ({ name: `${archive}/data/${i}`, data: bytes })),
    { name: `${archive}/version`, data: text.encode('3\n') },
  ]);
}

/**
 * A Python `collections.OrderedDict` with `entries` (a model's `state_dict()` is one), for {@link writeTorchFile}.
 *
 * @example
 * ```ts
 * writeTorchFile(orderedDict(new Map([['encoder.0.bias', TorchTensor.fromFloat32(b, [64])]])));
 * ```
 */
export function orderedDict(entries: ReadonlyMap<PickleValue, unknown>): PyCall {
  return new PyCall(
    new PyGlobal('collections', 'OrderedDict'),
    new PyTuple([]),
    entries as ReadonlyMap<PickleValue, PickleValue>,
  );
}
