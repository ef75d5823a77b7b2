import { FormatError } from '../errors.js';
import { DTYPE_BYTES, TorchTensor, type TorchDType } from './torch-tensor.js';

const TO_DTYPE: Record<string, TorchDType> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** Tensors to write with {@link writeSafetensors}: name -> float32 values in PyTorch layout with their shape. */
export type Float32Tensors = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>;

/** True when `bytes` looks like a safetensors file (a plausible header length followed by `{`). */
export function isSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n > 1n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}

/**
 * Reads a safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
 * a JSON header mapping names to `{ dtype, shape, data_offsets }`, then the tensor bytes.
 *
 * @returns Tensors by name, in header order, and the optional `__metadata__` strings.
 * @throws {@link FormatError} if the header is malformed or an offset falls outside the file.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = readSafetensors(await readFile('weights.safetensors'));
 * tensors.get('encoder.0.weight')?.shape;
 * ```
 */
export function readSafetensors(
  bytes: Uint8Array,
  source = 'safetensors file',
): { tensors: Map<string, TorchTensor>; metadata: Record<string, string> } {
  if (!isSafetensors(bytes)) {
    throw new FormatError(`readSafetensors: ${source} does not start with a safetensors header (length + JSON).`);
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (cause) {
    throw new FormatError(`readSafetensors: ${source} has a header that is not valid JSON (truncated or corrupted).`, {
      cause,
    });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new FormatError(`readSafetensors: ${source} has a header that is not a JSON object.`);
  const body = bytes.subarray(8 + n);
  const tensors = new Map<string, TorchTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const entry = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    const counts = (v: unknown, n?: number): v is number[] =>
      Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (
      entry === null ||
      typeof entry !== 'object' ||
      typeof entry.dtype !== 'string' ||
      !counts(entry.shape) ||
      !counts(entry.data_offsets, 2)
    ) {
      throw new FormatError(
        `readSafetensors: ${source}: tensor "${name}" is ${JSON.stringify(info)}; expected { dtype, shape: [sizes], data_offsets: [begin, end] }.`,
      );
    }
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const t = TO_DTYPE[dtype];
    if (!t)
      throw new FormatError(
        `readSafetensors: ${source}: tensor "${name}" has dtype ${dtype}; supported: ${Object.keys(TO_DTYPE).join(', ')}.`,
      );
    const [begin, end] = offsets ?? [];
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(begin >= 0 && end <= body.length && end - begin === count * DTYPE_BYTES[t])) {
      throw new FormatError(
        `readSafetensors: ${source}: tensor "${name}" claims bytes [${begin}, ${end}) for ${count} ${t} values ` +
          `but the data section has ${body.length} bytes (truncated or corrupted).`,
      );
    }
    tensors.set(name, new TorchTensor(t, shape, body.subarray(begin, end)));
  }
  return { tensors, metadata };
}

/**
 * Writes float32 tensors as a safetensors file that `safetensors.torch.load_file` reads.
 *
 * @param tensors - Name -> `{ shape, data }`, written in map order.
 * @param metadata - Optional string metadata, stored under `__metadata__`.
 *
 * @example
 * ```ts
 * await writeFile('weights.safetensors', writeSafetensors(new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]])));
 * ```
 */
export function writeSafetensors(tensors: Float32Tensors, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.length * 4] };
    offset += data.length * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  if (pad) json = new TextEncoder().encode(JSON.stringify(header) + ' '.repeat(pad));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  const dv = new DataView(out.buffer);
  for (const { data } of tensors.values()) {
    for (let i = 0; i < data.length; i++) dv.setFloat32(at + i * 4, data[i], true);
    at += data.length * 4;
  }
  return out;
}
