import { basename } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { ID_PARAMS, itemOf, itemView, pageQuery, sendJpeg, type ServerContext } from '../context.js';
import { ApiError } from '../errors.js';

/** `GET /api/items` (the collection in id order), `GET /api/items/:id` and `GET /api/thumb/:id` (a cached JPEG). */
export const itemRoutes: FastifyPluginAsync<ServerContext> = async (app, ctx) => {
  const { thumbs } = ctx;
  const item = (id: number) => itemView(ctx, id);
  // The ids in order, sorted again only when the items change (cbir serve --watch replaces the map after a sync).
  let orderedFor: Map<number, unknown> | undefined;
  let ordered: number[] = [];
  const inOrder = () => {
    if (orderedFor !== ctx.items) [orderedFor, ordered] = [ctx.items, [...ctx.items.keys()].sort((a, b) => a - b)];
    return ordered;
  };
  app.get(
    '/api/items',
    {
      schema: {
        querystring: pageQuery(50, 500),
      },
    },
    async (req) => {
      const { offset, limit } = req.query as { offset: number; limit: number };
      const ids = inOrder();
      return { size: ids.length, offset, items: ids.slice(offset, offset + limit).map(item) };
    },
  );

  app.get('/api/items/:id', { schema: { params: ID_PARAMS } }, async (req) => {
    const { id } = req.params as { id: number };
    itemOf(ctx, id);
    return item(id);
  });

  app.get(
    '/api/thumb/:id',
    {
      schema: {
        params: ID_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { size: { type: 'integer', minimum: 16, maximum: 512, default: 192 }, token: { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: number };
      const { size } = req.query as { size: number };
      // The path comes from the index, never from the request.
      const path = itemOf(ctx, id).path;
      if (!path) throw new ApiError(404, 'NO_IMAGE', `item ${id} has no image file recorded in the index.`);
      let bytes: Uint8Array;
      try {
        bytes = await thumbs.get(path, size);
      } catch {
        throw new ApiError(404, 'NO_IMAGE', `the image of item ${id} (${basename(path)}) cannot be read any more.`);
      }
      return sendJpeg(reply, bytes);
    },
  );
};
