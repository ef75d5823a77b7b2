import { FormatError } from '../errors.js';
import { crc32 } from '../io/crc32.js';
import type { Features } from './embed-images.js';

const MAGIC = 'CBIRFEAT';
const VERSION = 1;

/** What a feature file holds: {@link Features} without the reducer's arrays, plus free-form metadata. */
export type FeatureFile = Omit<Features, 'reducer' | 'skipped'> & {
  /** Where each image was read from (absolute paths in Node), when known: for montages and search results. */
  paths?: string[];
  metadata?: Record<string, unknown>;
};

/**
 * Serialises features: `CBIRFEAT`, version (u32), JSON header length (u32), JSON header (`rows`, `cols`, `ids`,
 * `labels`, optional `paths`, `metadata`), the float32 matrix row-major, CRC-32 of all before it (u32). Little-endian.
 */
export function serializeFeatures(f: FeatureFile): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ rows: f.matrix.rows, cols: f.matrix.cols, ids: f.ids, labels: f.labels, paths: f.paths, metadata: f.metadata ?? {} }));
  const body = f.matrix.data;
  const out = new Uint8Array(16 + header.length + body.byteLength + 4);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC));
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, header.length, true);
  out.set(header, 16);
  out.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), 16 + header.length);
  const end = out.length - 4;
  dv.setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

/**
 * Reads {@link serializeFeatures}'s bytes, checking magic, version, sizes and checksum.
 *
 * @throws {@link FormatError} naming `source` on any mismatch.
 */
export function deserializeFeatures(bytes: Uint8Array, source = 'feature file'): FeatureFile {
  const fail = (what: string): never => {
    throw new FormatError(`deserializeFeatures: ${source} ${what}. Recreate it with \`cbir embed\`.`);
  };
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('is not a cbir feature file (bad magic)');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(8, true) !== VERSION) fail(`has format version ${dv.getUint32(8, true)}; this cbir reads ${VERSION}`);
  const headerLen = dv.getUint32(12, true);
  const end = bytes.length - 4;
  if (16 + headerLen > end) fail('is truncated');
  if (crc32(bytes.subarray(0, end)) !== dv.getUint32(end, true)) fail('fails its checksum (truncated or corrupted)');
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLen)));
  const start = 16 + headerLen;
  if (end - start !== h.rows * h.cols * 4 || h.ids.length !== h.rows) fail(`says ${h.rows} x ${h.cols} but holds ${(end - start) / 4} values`);
  const data = new Float32Array(bytes.slice(start, end).buffer);
  return {
    matrix: { data, rows: h.rows, cols: h.cols }, ids: h.ids, labels: h.labels.map((l: string | null) => l ?? undefined),
    ...(h.paths ? { paths: h.paths } : {}), metadata: h.metadata,
  };
}
