import * as tf from '@tensorflow/tfjs-core';
import { queryNeedsModel } from 'cbir-node';
import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { FORMAT_NAMES } from '../errors.js';

/** `GET /healthz` (public) and `GET /api/info`: what is served, how queries are embedded, the limits. */
export const infoRoutes: FastifyPluginAsync<ServerContext> = async (app, ctx) => {
  const { retriever, index, embedder, clusters, duplicates, name } = ctx;
  const { maxUploadBytes, maxPixels, maxK } = ctx.limits;
  app.get('/healthz', async () => ({ status: 'ok', items: index.size }));

  app.get('/api/info', async () => ({
    name,
    index: { kind: index.kind, metric: index.metric, size: index.size, dim: index.dim },
    backend: embedder && queryNeedsModel(retriever) ? (tf.getBackend() ?? null) : null,
    query: embedder?.description ?? null,
    rerank: retriever.reranker?.kind ?? null,
    labels: ctx.labels,
    cameras: ctx.cameras,
    taken: ctx.taken,
    watch: ctx.watcher?.status() ?? null,
    clusters: clusters ? { k: clusters.k } : null,
    duplicates: duplicates ? { groups: duplicates.report.groups.length, method: duplicates.report.method } : null,
    limits: { maxUploadBytes, maxPixels, maxK, formats: FORMAT_NAMES },
  }));
};
