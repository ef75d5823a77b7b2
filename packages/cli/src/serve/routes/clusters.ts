import type { FastifyPluginAsync } from 'fastify';
import type { ClusterAssignments } from '../clusters.js';
import { itemView, pageQuery, type ServerContext } from '../context.js';
import { ApiError } from '../errors.js';

/** `GET /api/clusters` (each cluster's size and a sample) and `GET /api/clusters/:cluster` (its members, paged). */
export const clusterRoutes: FastifyPluginAsync<ServerContext> = async (app, ctx) => {
  const { clusters } = ctx;
  const item = (id: number) => itemView(ctx, id);
  app.get('/api/clusters', async () => {
    if (!clusters)
      throw new ApiError(
        404,
        'NO_CLUSTERS',
        'this index was served without clusters: start cbir serve with --clusters assignments.csv (from cbir cluster).',
      );
    const members = clusterMembers(clusters);
    return {
      k: clusters.k,
      clusters: members.map((ids, cluster) => ({ cluster, size: ids.length, sample: ids.slice(0, 8) })),
    };
  });

  app.get(
    '/api/clusters/:cluster',
    {
      schema: {
        params: { type: 'object', required: ['cluster'], properties: { cluster: { type: 'integer', minimum: 0 } } },
        querystring: pageQuery(100, 500),
      },
    },
    async (req) => {
      if (!clusters)
        throw new ApiError(
          404,
          'NO_CLUSTERS',
          'this index was served without clusters: start cbir serve with --clusters assignments.csv (from cbir cluster).',
        );
      const { cluster } = req.params as { cluster: number };
      const { offset, limit } = req.query as { offset: number; limit: number };
      if (cluster >= clusters.k)
        throw new ApiError(
          404,
          'NOT_FOUND',
          `cluster ${cluster} does not exist: there are ${clusters.k} (0..${clusters.k - 1}).`,
        );
      const ids = clusterMembers(clusters)[cluster];
      return { cluster, size: ids.length, offset, items: ids.slice(offset, offset + limit).map(item) };
    },
  );
};

const memberCache = new WeakMap<ClusterAssignments, number[][]>();
function clusterMembers(clusters: ClusterAssignments): number[][] {
  let members = memberCache.get(clusters);
  if (!members) {
    members = Array.from({ length: clusters.k }, () => []);
    for (const [id, c] of clusters.clusterOf) members[c].push(id);
    memberCache.set(clusters, members);
  }
  return members;
}
