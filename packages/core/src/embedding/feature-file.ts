import { FormatError } from '../errors.js';
import { readFramed, writeFramed } from '../io/framed-file.js';
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
 * Serialises features as a framed cbir file (`CBIRFEAT`; see `writeFramed`): the JSON header holds `rows`, `cols`,
 * `ids`, `labels`, optional `paths` and `metadata`; the body the float32 matrix, row-major.
 *
 * @example
 * ```ts
 * await writeFileAtomic('photos.cbirfeat', serializeFeatures({ matrix, ids, labels }));
 * ```
 */
export function serializeFeatures(f: FeatureFile): Uint8Array {
  const header = { rows: f.matrix.rows, cols: f.matrix.cols, ids: f.ids, labels: f.labels, paths: f.paths, metadata: f.metadata ?? {} };
  return writeFramed(MAGIC, VERSION, header, [f.matrix.data]);
}

/**
 * Reads {@link serializeFeatures}'s bytes, checking magic, version, sizes and checksum.
 *
 * @throws {@link FormatError} naming `source` on any mismatch.
 *
 * @example
 * ```ts
 * const { matrix, ids, labels } = deserializeFeatures(await readFile('photos.cbirfeat'), 'photos.cbirfeat');
 * ```
 */
export function deserializeFeatures(bytes: Uint8Array, source = 'feature file'): FeatureFile {
  const f = readFramed<{ rows: number; cols: number; ids: string[]; labels: (string | null)[]; paths?: string[]; metadata?: Record<string, unknown> }>(
    bytes, MAGIC, VERSION, 'deserializeFeatures', source, 'Recreate it with `cbir embed`.',
  );
  const h = f.header;
  if (h.ids.length !== h.rows) throw new FormatError(`deserializeFeatures: ${source} has ${h.ids.length} ids for ${h.rows} rows. Recreate it with \`cbir embed\`.`);
  const data = f.take(h.rows * h.cols);
  f.end();
  return {
    matrix: { data, rows: h.rows, cols: h.cols }, ids: h.ids, labels: h.labels.map((l) => l ?? undefined),
    ...(h.paths ? { paths: h.paths } : {}), metadata: h.metadata,
  };
}
