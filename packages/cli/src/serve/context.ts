import {
  composeQuery,
  type AsyncIndex,
  type Index,
  type ItemMetadata,
  type QueryEmbedder,
  type Retriever,
} from 'cbir-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BatchQueue } from './batch-queue.js';
import type { ClusterAssignments } from './clusters.js';
import type { ServedDuplicates } from './duplicates.js';
import { ApiError } from './errors.js';
import type { SearchBatcher } from './search-batcher.js';
import type { ThumbnailCache } from './thumbnails.js';
import type { FolderWatcher } from './watch.js';

/** A hit as the API returns it: the item's id, distance, metadata (path, label, size, dates, camera) and cluster. */
export interface ApiHit extends ItemMetadata {
  id: number;
  distance: number;
  cluster?: number;
}

/** What the routes share: one per server, made by `createSearchServer` and given to each route plugin. */
export interface ServerContext {
  retriever: Retriever;
  /** The retriever's index. */
  index: Index | AsyncIndex;
  /** The retriever's query embedder. */
  embedder?: QueryEmbedder;
  /** Uploads waiting for the encoder, embedded in batches. */
  encoder?: BatchQueue<Uint8Array, Float32Array>;
  /** Concurrent searches as one batched search (with the re-ranker). */
  batcher: SearchBatcher;
  thumbs: ThumbnailCache;
  /** Every item's metadata, read at start and again after each sync of a watched folder. */
  items: Map<number, ItemMetadata>;
  /** The items' distinct labels, sorted. */
  labels: string[];
  /** The items' distinct cameras (EXIF make and model), sorted: the page's camera choice. */
  cameras: { make?: string; model: string }[];
  /** The first and last dates taken among the items (EXIF), or null when none records one. */
  taken: { first: string; last: string } | null;
  /** What follows the folder of `cbir serve --watch`. */
  watcher?: FolderWatcher;
  name: string;
  clusters?: ClusterAssignments;
  /** The duplicate report under review, joined to the index. */
  duplicates?: ServedDuplicates;
  limits: { maxUploadBytes: number; maxPixels: number; maxK: number; maxQueue: number };
  /** The hook that admits an upload before its body is read (see `uploadAdmission`). */
  admitUpload: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

/** An item as the API shows it: id, metadata and cluster. */
export function itemView(ctx: ServerContext, id: number): Omit<ApiHit, 'distance'> {
  return {
    id,
    ...ctx.items.get(id),
    ...(ctx.clusters?.clusterOf.has(id) ? { cluster: ctx.clusters.clusterOf.get(id) } : {}),
  };
}

/** The metadata of `id`, or a 404 naming the index's size. */
export function itemOf(ctx: ServerContext, id: number): ItemMetadata {
  const item = ctx.items.get(id);
  if (!item) throw new ApiError(404, 'NOT_FOUND', `item ${id} is not in the index (${ctx.index.size} items).`);
  return item;
}

/** What narrows a search: a label, a `where` filter (cbir's SQL subset), a distance cut-off. */
export interface SearchNarrowing {
  label?: string;
  where?: string;
  maxDistance?: number;
}

/** What composes a query with the one given: items like it (`with`) and unlike it (`without`), as id lists. */
export interface QueryComposition {
  with?: string;
  without?: string;
  notWeight?: number;
}

/**
 * The query `base` composed with indexed examples (`composeQuery`: Rocchio's weights, per example unit length on a
 * cosine index), and the examples' ids, which the results leave out. Without examples, `base` itself.
 */
export async function composedQuery(
  ctx: ServerContext,
  base: Float32Array,
  composition: QueryComposition,
): Promise<{ vector: Float32Array; examples: number[] }> {
  const ids = (list?: string) => (list ? [...new Set(list.split(',').map(Number))] : []);
  const positive = ids(composition.with);
  const negative = ids(composition.without);
  if (positive.length + negative.length === 0) return { vector: base, examples: [] };
  const example = async (id: number) => {
    itemOf(ctx, id);
    const vector = await ctx.index.vector(id);
    if (!vector) throw new ApiError(404, 'NOT_FOUND', `item ${id} is not in the index.`);
    return { vector };
  };
  const vector = composeQuery(
    [{ vector: base }, ...(await Promise.all(positive.map(example)))],
    await Promise.all(negative.map(example)),
    { negativeWeight: composition.notWeight, metric: ctx.index.metric },
  );
  return { vector, examples: [...positive, ...negative] };
}

/**
 * The k nearest items to `vector` (without `exclude`, narrowed by `filter`): searches with a `where` filter go through
 * the retriever's filtered search (exact on exact kinds, LanceDB's own filter on a table), the others through the
 * batcher, deeper until k pass the label.
 */
export async function nearest(
  ctx: ServerContext,
  vector: Float32Array,
  k: number,
  exclude?: number,
  filter: SearchNarrowing = {},
  skip: readonly number[] = [],
): Promise<ApiHit[]> {
  if (skip.length) {
    // Deeper by the skipped ids, which are then left out: a composed query's examples are not its results.
    const left = new Set(skip);
    const hits = await nearest(ctx, vector, Math.min(k + skip.length, ctx.index.size), exclude, filter);
    return hits.filter((h) => !left.has(h.id)).slice(0, k);
  }
  const { label, where, maxDistance } = filter;
  const within = (hits: ApiHit[]) => (maxDistance === undefined ? hits : hits.filter((h) => h.distance <= maxDistance));
  if (where !== undefined) {
    const combined = label === undefined ? where : `(${where}) AND label = '${label.replace(/'/g, "''")}'`;
    const res = await ctx.retriever.search({ data: vector, rows: 1, cols: vector.length }, k, {
      where: combined,
      self: [exclude],
      maxDistance,
    });
    const hits: ApiHit[] = [];
    for (let j = 0; j < res.k; j++)
      if (res.ids[j] >= 0) hits.push({ ...itemView(ctx, res.ids[j]), distance: res.distances[j] });
    return hits;
  }
  return within(await nearestByLabel(ctx, vector, k, exclude, label));
}

async function nearestByLabel(
  ctx: ServerContext,
  vector: Float32Array,
  k: number,
  exclude?: number,
  label?: string,
): Promise<ApiHit[]> {
  const { index, batcher, items } = ctx;
  const wanted = k + (exclude === undefined ? 0 : 1);
  let depth = Math.min(index.size, label === undefined ? wanted : wanted * 4);
  for (;;) {
    const res = await batcher.search(vector, depth, exclude);
    const hits: ApiHit[] = [];
    for (let j = 0; j < res.k && hits.length < k; j++) {
      const id = res.ids[j];
      if (id < 0 || id === exclude || (label !== undefined && items.get(id)?.label !== label)) continue;
      hits.push({ ...itemView(ctx, id), distance: res.distances[j] });
    }
    if (hits.length >= k || depth >= index.size) return hits;
    depth = Math.min(index.size, depth * 4);
  }
}

/** The `:id` path parameter: a whole number. */
export const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 0 } },
} as const;

/** The query of a paged list: `offset`, `limit` (1 to `maxLimit`, `defaultLimit` when absent), the token. */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      offset: { type: 'integer', minimum: 0, default: 0 },
      limit: { type: 'integer', minimum: 1, maximum: maxLimit, default: defaultLimit },
      token: { type: 'string' },
    },
  } as const;
}

/** Sends a thumbnail: JPEG bytes, cacheable by the browser for an hour. */
export function sendJpeg(reply: FastifyReply, bytes: Uint8Array): FastifyReply {
  return reply
    .type('image/jpeg')
    .header('cache-control', 'private, max-age=3600')
    .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** The query of a search: k up to `maxK`, an optional label, filter and cut-off, the token. */
export function searchQuery(maxK: number) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      k: { type: 'integer', minimum: 1, maximum: maxK, default: 10 },
      label: { type: 'string', maxLength: 256 },
      where: { type: 'string', maxLength: 10_000 },
      maxDistance: { type: 'number', minimum: 0 },
      // A composed query: more items like the query (with) and items unlike it (without), by id.
      with: { type: 'string', pattern: ID_LIST, maxLength: 1000 },
      without: { type: 'string', pattern: ID_LIST, maxLength: 1000 },
      notWeight: { type: 'number', minimum: 0, maximum: 10 },
      token: { type: 'string' },
    },
  } as const;
}

/** A comma-separated list of ids (at most 1,000 characters: some hundred ids). */
const ID_LIST = '^[0-9]{1,15}(,[0-9]{1,15})*$';

/** Milliseconds to 0.01, for `took`. */
export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** The distinct labels and cameras of the items, sorted: what the page offers to filter by. */
export function collectionFacets(
  items: Map<number, ItemMetadata>,
): Pick<ServerContext, 'labels' | 'cameras' | 'taken'> {
  const labels = new Set<string>();
  let first: string | undefined;
  let last: string | undefined;
  const cameras = new Map<string, { make?: string; model: string }>();
  for (const m of items.values()) {
    if (m.label !== undefined) labels.add(m.label);
    if (m.taken !== undefined) {
      if (first === undefined || m.taken < first) first = m.taken; // canonical ISO instants sort as text
      if (last === undefined || m.taken > last) last = m.taken;
    }
    if (m.model !== undefined) cameras.set(`${m.make ?? ''}\u0000${m.model}`, { make: m.make, model: m.model });
  }
  return {
    labels: [...labels].sort(),
    taken: first === undefined ? null : { first, last: last! },
    cameras: [...cameras.values()].sort(
      (a, b) => (a.make ?? '').localeCompare(b.make ?? '') || a.model.localeCompare(b.model),
    ),
  };
}
