import { IndexFormatError } from '../errors.js';
import { readFramed } from '../io/framed-file.js';
import type { Index, ItemMetadata } from './index.js';
import { checkItemMetadata } from './item-metadata.js';
import { readLshashPickle } from './lshash-pickle.js';
import { indexKind, indexKinds, type IndexFileReader } from './registry.js';

interface Header {
  kind: string;
  metric: string;
  nextId?: unknown;
  dim: number;
  size: number;
  ids: number[];
  metadata: (ItemMetadata | null)[];
}

/**
 * The rest of an index file after the index: the whole JSON header and the arrays its owner wrote after the index's
 * (see {@link OwnerSections}), for the owner to read back (a {@link Retriever} reads its provenance here).
 */
export interface OwnerReader {
  /** The file's JSON header: the index's keys and its owner's. */
  header: Record<string, unknown>;
  /** The next `n` float32 values of the file's body. */
  take(n: number): Float32Array;
  /** Checks that the whole body has been read. */
  end(): void;
}

/**
 * Reads any index written by `serialize()` (format `CBIRINDX` version 1; see docs/guides/index-format.md) through the
 * kind's registered `restore` (see {@link extend.registerIndexKind | registerIndexKind} (`cbir-core/extend`)), or the
 * notebook's `lsh.p` (a pickled lshashpy3 `LSHash`; see {@link readLshashPickle}). What the index's owner kept in the
 * file (a {@link Retriever}'s provenance) is passed over: {@link Retriever.deserialize} reads both.
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
  return readIndexFile(bytes, source).index;
}

/**
 * {@link deserializeIndex}, with what the index's owner kept in the file, to read next.
 *
 * @example
 * ```ts
 * const { index, owner } = readIndexFile(bytes, 'photos.cbirindex');
 * const pipeline = owner.header.pipeline;   // a key the owner wrote
 * owner.end();
 * ```
 */
export function readIndexFile(bytes: Uint8Array, source = 'index'): { index: Index; owner: OwnerReader } {
  // A pickle (protocol 2 to 5) can only be lshashpy3's: cbir's own files start with their magic.
  if (bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    const index = readLshashPickle(bytes, source);
    return {
      index,
      owner: {
        header: {},
        take: () => {
          throw new IndexFormatError(`${source} is a pickle: it holds nothing but the index.`);
        },
        end: () => undefined,
      },
    };
  }
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
  if (!count(h.dim, 1) || !count(h.size, 0))
    fail(`has dim ${String(h.dim)} and size ${String(h.size)}; expected dim >= 1 and size >= 0`);
  if (!Array.isArray(h.ids) || !Array.isArray(h.metadata) || h.ids.length !== h.size || h.metadata.length !== h.size)
    fail('has inconsistent ids or metadata');
  if (typeof h.kind !== 'string' || !indexKinds().includes(h.kind)) {
    fail(
      `has kind "${String(h.kind)}", which is not registered (${indexKinds().join(', ')})${h.kind === 'hnsw' ? '; hnsw indexes need cbir-node: import it first' : ''}`,
    );
  }
  const reader: IndexFileReader = {
    header: h as unknown as IndexFileReader['header'],
    metadata: h.metadata.map((m, i) => {
      try {
        return checkItemMetadata(m, `deserializeIndex: ${source} item ${String(h.ids[i])}`);
      } catch (e) {
        throw new IndexFormatError(`${(e as Error).message} Rebuild it with \`cbir index\`.`);
      }
    }),
    take: (n) => f.take(n),
    fail,
  };
  const index = indexKind(h.kind).restore(reader, source);
  // Files written before LSH's metric named its distance say 'lsh'.
  if (h.metric !== index.metric && !(h.kind === 'lsh' && h.metric === 'lsh'))
    fail(`says metric "${String(h.metric)}" for a ${h.kind} index, whose metric is "${index.metric}"`);
  if (h.nextId !== undefined) {
    const floor = h.ids.reduce((a, id) => Math.max(a, id + 1), 0);
    if (!count(h.nextId, floor))
      fail(`has nextId ${JSON.stringify(h.nextId)}; expected an integer past its largest id (${floor - 1})`);
    if (!('nextId' in index)) fail(`records nextId, which a ${h.kind} index does not keep`);
    index.nextId = h.nextId as number;
  }
  const take = (n: number) => {
    try {
      return f.take(n);
    } catch (e) {
      throw new IndexFormatError((e as Error).message, { cause: e });
    }
  };
  const end = () => {
    try {
      f.end();
    } catch (e) {
      throw new IndexFormatError((e as Error).message, { cause: e });
    }
  };
  return { index, owner: { header: h as unknown as Record<string, unknown>, take, end } };
}
