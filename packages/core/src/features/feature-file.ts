import { FormatError } from '../errors.js';
import { readFramed, writeFramed } from '../io/framed-file.js';
import type { Features } from '../embedding/embed-images.js';
import type { ExtractorSpec } from './extractor.js';
import { specFromFramed, specToFramed } from '../io/saved-spec.js';
import { checkItemMetadata, type ImageInfo } from '../indexes/item-metadata.js';
import { pipelineFromFramed, pipelineToFramed, type EmbeddingPipeline } from '../embedding/pipeline.js';

const MAGIC = 'CBIRFEAT';
const VERSION = 1;

/** What a feature file holds: {@link Features} and what made them, plus free-form metadata. */
export type FeatureFile = Omit<Features, 'reducer' | 'skipped'> & {
  /** Where each image was read from (absolute paths in Node), when known: for montages and search results. */
  paths?: string[];
  /**
   * What was read of each image's file (size, modification time, content hash, EXIF; cbir-node's `readImageInfo`),
   * one per row (undefined where nothing was read): `cbir index` keeps it with each item.
   */
  info?: (ImageInfo | undefined)[];
  metadata?: Record<string, unknown>;
  /** The model and fitted reducer that made the features (absent for hand-crafted or imported features). */
  pipeline?: EmbeddingPipeline;
  /** The extractor (hand-crafted, fused, pretrained) and its fitted state that made the features, when one did. */
  extractor?: ExtractorSpec;
};

/**
 * Serialises features as a framed cbir file (`CBIRFEAT`; see `writeFramed`): the JSON header holds `rows`, `cols`,
 * `ids`, `labels`, optional `paths`, `info` and `metadata`; the body the float32 matrix, row-major.
 *
 * @example
 * ```ts
 * await writeFileAtomic('photos.cbirfeat', serializeFeatures({ matrix, ids, labels }));
 * ```
 */
export function serializeFeatures(f: FeatureFile): Uint8Array {
  const rows = f.matrix.rows;
  for (const [name, list] of [
    ['ids', f.ids],
    ['labels', f.labels],
    ['paths', f.paths],
    ['info', f.info],
  ] as const) {
    if (list !== undefined && list.length !== rows) {
      throw new FormatError(
        `serializeFeatures: ${list.length} ${name} for ${rows} rows; give one per row (undefined for an unlabelled row).`,
      );
    }
  }
  const pipeline = pipelineToFramed(f.pipeline);
  const extractor = specToFramed(f.extractor);
  const header = {
    rows: f.matrix.rows,
    cols: f.matrix.cols,
    ids: f.ids,
    labels: f.labels,
    paths: f.paths,
    ...(f.info ? { info: f.info.map((m) => m ?? null) } : {}),
    metadata: f.metadata ?? {},
    pipeline: pipeline.header,
    extractor: extractor.header,
  };
  return writeFramed(MAGIC, VERSION, header, [f.matrix.data, ...pipeline.arrays, ...extractor.arrays]);
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
  const f = readFramed<{
    rows: number;
    cols: number;
    ids: string[];
    labels: (string | null)[];
    paths?: string[];
    info?: unknown[];
    metadata?: Record<string, unknown>;
    pipeline?: unknown;
    extractor?: unknown;
  }>(bytes, MAGIC, VERSION, 'deserializeFeatures', source, 'Recreate it with `cbir embed`.');
  const h = f.header;
  const bad = (what: string): never => {
    throw new FormatError(`deserializeFeatures: ${source} ${what}. Recreate it with \`cbir embed\`.`);
  };
  if (!Number.isSafeInteger(h.rows) || h.rows < 0 || !Number.isSafeInteger(h.cols) || h.cols < 1)
    bad(`has rows ${h.rows} and cols ${h.cols}; expected counts (cols >= 1)`);
  if (!Array.isArray(h.ids) || h.ids.length !== h.rows)
    bad(`has ${Array.isArray(h.ids) ? h.ids.length : 'no'} ids for ${h.rows} rows`);
  if (!Array.isArray(h.labels) || h.labels.length !== h.rows)
    bad(`has ${Array.isArray(h.labels) ? h.labels.length : 'no'} labels for ${h.rows} rows`);
  if (h.paths !== undefined && (!Array.isArray(h.paths) || h.paths.length !== h.rows))
    bad(`has ${Array.isArray(h.paths) ? h.paths.length : 'no'} paths for ${h.rows} rows`);
  if (h.info !== undefined && (!Array.isArray(h.info) || h.info.length !== h.rows))
    bad(`has ${Array.isArray(h.info) ? h.info.length : 'no'} info entries for ${h.rows} rows`);
  const info = h.info?.map((m, i) => {
    try {
      return checkItemMetadata(m, `deserializeFeatures: ${source} row ${i}`) as ImageInfo | undefined;
    } catch (e) {
      throw new FormatError(`${(e as Error).message} Recreate it with \`cbir features\` or \`cbir embed\`.`);
    }
  });
  const data = f.take(h.rows * h.cols);
  const pipeline = pipelineFromFramed(h.pipeline, f, source);
  const extractor = specFromFramed(h.extractor, f, source, 'feature extractor');
  f.end();
  return {
    matrix: { data, rows: h.rows, cols: h.cols },
    ids: h.ids,
    labels: h.labels.map((l) => l ?? undefined),
    ...(h.paths ? { paths: h.paths } : {}),
    ...(info ? { info } : {}),
    metadata: h.metadata,
    ...(pipeline ? { pipeline } : {}),
    ...(extractor ? { extractor } : {}),
  };
}
