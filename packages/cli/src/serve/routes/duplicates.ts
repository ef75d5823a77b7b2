import { basename, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { pageQuery, sendJpeg, type ServerContext } from '../context.js';
import { ApiError } from '../errors.js';

const NO_DUPLICATES = () =>
  new ApiError(
    404,
    'NO_DUPLICATES',
    'this index was served without duplicates: run cbir dedup --data DIR --report FILE, then cbir serve --duplicates FILE.',
  );

/**
 * `GET /api/duplicates?offset=&limit=` (the report's groups, paged: each copy with its size and whether it is the one to
 * keep) and `GET /api/duplicates/:group/:member/thumb?size=` (a cached JPEG of that copy).
 */
export const duplicateRoutes: FastifyPluginAsync<ServerContext> = async (app, ctx) => {
  const { duplicates, thumbs } = ctx;
  app.get(
    '/api/duplicates',
    {
      schema: {
        querystring: pageQuery(20, 200),
      },
    },
    async (req) => {
      if (!duplicates) throw NO_DUPLICATES();
      const { offset, limit } = req.query as { offset: number; limit: number };
      const { report, ids } = duplicates;
      return {
        method: report.method,
        threshold: report.threshold,
        rule: report.rule,
        images: report.images,
        size: report.groups.length,
        offset,
        groups: report.groups.slice(offset, offset + limit).map((g, j) => ({
          group: offset + j,
          members: g.members.map((m, k) => ({
            ...m,
            keep: k === 0,
            ...(ids[offset + j][k] === undefined ? {} : { id: ids[offset + j][k] }),
          })),
        })),
      };
    },
  );

  app.get(
    '/api/duplicates/:group/:member/thumb',
    {
      schema: {
        params: {
          type: 'object',
          required: ['group', 'member'],
          properties: { group: { type: 'integer', minimum: 0 }, member: { type: 'integer', minimum: 0 } },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { size: { type: 'integer', minimum: 16, maximum: 512, default: 192 }, token: { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      if (!duplicates) throw NO_DUPLICATES();
      const { group, member } = req.params as { group: number; member: number };
      const { size } = req.query as { size: number };
      const m = duplicates.report.groups[group]?.members[member];
      if (!m)
        throw new ApiError(
          404,
          'NOT_FOUND',
          `no member ${member} of group ${group} (${duplicates.report.groups.length} groups).`,
        );
      // The path comes from the report the server was started with (checked to stay under its root), never from the request.
      let bytes: Uint8Array;
      try {
        bytes = await thumbs.get(join(duplicates.report.root, m.file), size);
      } catch {
        throw new ApiError(404, 'NO_IMAGE', `${basename(m.file)} cannot be read any more (moved or deleted?).`);
      }
      return sendJpeg(reply, bytes);
    },
  );
};
