import type { FastifyPluginAsync } from 'fastify';
import {
  composedQuery,
  ID_PARAMS,
  itemOf,
  itemView,
  nearest,
  round,
  searchQuery,
  type QueryComposition,
  type SearchNarrowing,
  type ServerContext,
} from '../context.js';
import { ApiError } from '../errors.js';
import { checkImage, checkVector, uploadOf } from '../uploads.js';

/** A search's query string (as `searchQuery` checked it) split into k, what narrows it and what composes it. */
function searchOf(query: unknown): { k: number; narrowing: SearchNarrowing; composition: QueryComposition } {
  const {
    k,
    with: more,
    without,
    notWeight,
    ...narrowing
  } = query as { k: number } & SearchNarrowing & QueryComposition;
  return { k, narrowing, composition: { with: more, without, notWeight } };
}

/** `POST /api/search` (an uploaded image, embedded as the collection was) and `GET /api/similar/:id`. */
export const searchRoutes: FastifyPluginAsync<ServerContext> = async (app, ctx) => {
  const { index, embedder, encoder, admitUpload } = ctx;
  const { maxPixels, maxQueue, maxK } = ctx.limits;
  const query = searchQuery(maxK);
  app.post('/api/search', { schema: { querystring: query }, onRequest: admitUpload }, async (req) => {
    const { k, narrowing, composition } = searchOf(req.query);
    if (!embedder || !encoder)
      throw new ApiError(
        400,
        'NO_QUERY_MODEL',
        'this server cannot embed new images: start cbir serve with --model, the model that embedded the collection.',
      );
    const bytes = await uploadOf(req);
    await checkImage(bytes, maxPixels);
    const queued = encoder!.submit(bytes);
    if (!queued)
      throw new ApiError(
        503,
        'BUSY',
        `${maxQueue} uploads are already waiting for the encoder; try again in a moment.`,
      );
    const embedded = await queued;
    const t0 = performance.now();
    const { vector, examples } = await composedQuery(ctx, checkVector(embedded.value), composition);
    const results = await nearest(ctx, vector, k, undefined, narrowing, examples);
    return {
      results,
      took: {
        queuedMs: round(embedded.waitedMs),
        embedMs: round(embedded.ranMs),
        batch: embedded.batch,
        searchMs: round(performance.now() - t0),
      },
    };
  });

  app.get('/api/similar/:id', { schema: { params: ID_PARAMS, querystring: query } }, async (req) => {
    const { id } = req.params as { id: number };
    const { k, narrowing, composition } = searchOf(req.query);
    itemOf(ctx, id);
    const t0 = performance.now();
    const base = await index.vector(id);
    if (!base) throw new ApiError(404, 'NOT_FOUND', `item ${id} is not in the index.`);
    const { vector, examples } = await composedQuery(ctx, base, composition);
    const results = await nearest(ctx, vector, k, id, narrowing, examples);
    return { query: itemView(ctx, id), results, took: { searchMs: round(performance.now() - t0) } };
  });
};
