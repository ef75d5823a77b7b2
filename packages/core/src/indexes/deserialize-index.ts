import { pipelineFromFramed } from '../embedding/pipeline.js';
import { specFromFramed } from '../io/saved-spec.js';
import { IndexFormatError } from '../errors.js';
import { readFramed } from '../io/framed-file.js';
import { CosineIndex } from './cosine-index.js';
import { ExactEuclideanIndex } from './exact-euclidean-index.js';
import type { Index, ItemMetadata } from './index.js';
import { LSHIndex, type LSHDistance } from './lsh-index.js';
import { readLshashPickle } from './lshash-pickle.js';

interface Header {
  kind: 'exact' | 'cosine' | 'lsh';
  metric: string;
  pipeline?: unknown;
  extractor?: unknown;
  rerank?: unknown;
  dim: number;
  size: number;
  ids: number[];
  metadata: (ItemMetadata | null)[];
  hashSize?: number;
  numHashtables?: number;
  distanceFunc?: LSHDistance;
  probeRadius?: number;
  fillToK?: boolean;
  seed?: number;
  centre?: boolean;
  hasCentre?: boolean;
}

/**
 * Reads any index written by `serialize()` (format `CBIRINDX` version 1; see docs/guides/index-format.md), or the
 * notebook's `lsh.p` (a pickled lshashpy3 `LSHash`; see {@link readLshashPickle}).
 *
 * @throws {@link IndexFormatError} naming `source` for a bad magic, version, size, kind or checksum.
 *
 * @example
 * ```ts
 * const index = deserializeIndex(await readFile('photos.cbirindex'), 'photos.cbirindex');
 * index.search(queries, 10);
 * ```
 */
export function deserializeIndex(bytes: Uint8Array, source = 'index'): Index {
  // A pickle (protocol 2 to 5) can only be lshashpy3's: cbir's own files start with their magic.
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) return readLshashPickle(bytes, source);
  let f;
  try {
    f = readFramed<Header>(bytes, 'CBIRINDX', 1, 'deserializeIndex', source, 'Rebuild it with `cbir index`.');
  } catch (e) {
    throw new IndexFormatError((e as Error).message, { cause: e });
  }
  const h = f.header;
  const fail = (what: string): never => {
    throw new IndexFormatError(`deserializeIndex: ${source} ${what}. Rebuild it with \`cbir index\`.`);
  };
  const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  if (!count(h.dim, 1) || !count(h.size, 0)) fail(`has dim ${String(h.dim)} and size ${String(h.size)}; expected dim >= 1 and size >= 0`);
  if (!Array.isArray(h.ids) || !Array.isArray(h.metadata) || h.ids.length !== h.size || h.metadata.length !== h.size) fail('has inconsistent ids or metadata');
  if (h.kind === 'lsh' && (!count(h.hashSize, 1) || !count(h.numHashtables, 1))) fail(`has hashSize ${String(h.hashSize)} and numHashtables ${String(h.numHashtables)}; expected positive integers`);
  const meta = h.metadata.map((m) => m ?? undefined);
  let index: ExactEuclideanIndex | LSHIndex;
  if (h.kind === 'exact' || h.kind === 'cosine') {
    index = h.kind === 'exact' ? new ExactEuclideanIndex(h.dim) : new CosineIndex(h.dim);
  } else if (h.kind === 'lsh') {
    const planes = Array.from({ length: h.numHashtables! }, () => f.take(h.hashSize! * h.dim));
    index = new LSHIndex({
      hashSize: h.hashSize!, numHashtables: h.numHashtables, inputDim: h.dim, seed: h.seed, distanceFunc: h.distanceFunc,
      probeRadius: h.probeRadius, fillToK: h.fillToK, centre: h.centre, planes,
    });
    if (h.hasCentre) index.setCentre(f.take(h.dim));
  } else {
    return fail(`has unknown kind "${String(h.kind)}"`);
  }
  if (h.metric !== index.metric) fail(`says metric "${String(h.metric)}" for a ${h.kind} index, whose metric is "${index.metric}"`);
  const data = f.take(h.size * h.dim);
  const pipeline = pipelineFromFramed(h.pipeline, f, source);
  const extractor = specFromFramed(h.extractor, f, source, 'feature extractor');
  const rerank = specFromFramed(h.rerank, f, source, 're-ranker');
  f.end();
  if (pipeline) index.pipeline = pipeline;
  if (extractor) index.extractor = extractor;
  if (rerank) index.rerank = rerank;
  if (h.size === 0) return index;
  // Rows come back exactly as stored (cosine rows are unit-normalised already).
  if (index instanceof ExactEuclideanIndex) index.restore({ data, rows: h.size, cols: h.dim }, h.ids, meta);
  else index.add({ data, rows: h.size, cols: h.dim }, h.ids, meta);
  return index;
}
