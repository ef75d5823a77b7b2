import { basename } from 'node:path';
import type { FastifyError, FastifyInstance } from 'fastify';
import {
  CbirError,
  readMetadata,
  type AsyncIndex,
  type DuplicateReport,
  type Index,
  type ItemMetadata,
  type Retriever,
} from 'cbir-core';
import type { ClusterAssignments } from './clusters.js';
import { BatchQueue } from './batch-queue.js';
import { collectionFacets, type ServerContext } from './context.js';
import { ApiError, answerClientError, describeError } from './errors.js';
import { installGuards } from './guards.js';
import { clusterRoutes } from './routes/clusters.js';
import { serveDuplicates } from './duplicates.js';
import { duplicateRoutes } from './routes/duplicates.js';
import { infoRoutes } from './routes/info.js';
import { itemRoutes } from './routes/items.js';
import { pageRoutes } from './routes/page.js';
import { searchRoutes } from './routes/search.js';
import { SearchBatcher } from './search-batcher.js';
import { ThumbnailCache } from './thumbnails.js';
import { uploadAdmission } from './uploads.js';
import { FolderWatcher, type FolderWatchOptions } from './watch.js';
import { syncIndex } from 'cbir-node';

/** Options of {@link createSearchServer}. */
export interface SearchServerOptions {
  /**
   * What to serve: an index with what made its vectors (`loadRetriever`, `openLanceRetriever`), its re-ranker (which
   * re-ranks every search, as `cbir search --rerank auto` does) and its query embedder (`openQueryEmbedder`: it embeds
   * uploads as the collection was; without one, uploads answer `NO_QUERY_MODEL`).
   */
  retriever: Retriever;
  /** How the page and messages name the index (a file's base name is shown, never its folder). @defaultValue the index's kind, e.g. 'exact' */
  name?: string;
  /** The items' clusters, served at `/api/clusters`. */
  clusters?: ClusterAssignments;
  /**
   * Groups of duplicates to review (`duplicateReport`, or `parseDuplicateReport` of `cbir dedup --report`), served at
   * `/api/duplicates` with thumbnails of every copy, indexed or not.
   */
  duplicates?: DuplicateReport;
  /**
   * Every item's metadata, when the caller has read it already (to check `clusters` against it, say): a LanceDB table
   * is then scanned once, not twice. @defaultValue read from the index at start
   */
  items?: Map<number, ItemMetadata>;
  /** When set, every `/api/` request needs it as `Authorization: Bearer TOKEN` or `?token=TOKEN`. */
  token?: string;
  /**
   * A folder the index follows (`cbir serve --watch`): its changes are synced into the index (`syncIndex`, with the
   * retriever's embedder) and served without a restart; `/api/info` says what the last sync did. The first sync runs
   * before the server answers. @defaultValue no folder is watched
   */
  watch?: {
    dir: string;
    /** Persists the index (rewrites its file; commits a LanceDB table's provenance): after each sync, and every `saveEveryMs` during a long one. */
    save: () => Promise<void>;
    /** How often a long sync saves its work so far. @defaultValue 30,000 ms */
    saveEveryMs?: number;
    /** Quiet time after the last file event. @defaultValue 1,000 ms */
    debounceMs?: number;
    /** A full rescan this often. @defaultValue 300,000 ms */
    rescanMs?: number;
    /** Told what each sync did, or why it failed. */
    onSync?: FolderWatchOptions['onSync'];
  };
  /**
   * The largest upload accepted, in bytes.
   * @defaultValue 20 MiB
   */
  maxUploadBytes?: number;
  /**
   * The most pixels (width x height) an upload may have; checked from its header before it is decoded.
   * @defaultValue 40,000,000
   */
  maxPixels?: number;
  /**
   * The largest `k` a request may ask for.
   * @defaultValue 100
   */
  maxK?: number;
  /**
   * Uploads embedded in one batch: concurrent uploads are encoded together, which costs far less per image.
   * @defaultValue 16
   */
  maxBatch?: number;
  /**
   * Uploads held at once (being received, waiting for the encoder, or embedded); beyond that a request is answered
   * 503 `BUSY` before its body is read, so memory is bounded by `maxQueue` x `maxUploadBytes`.
   * @defaultValue 32
   */
  maxQueue?: number;
  /**
   * Bytes of JPEG thumbnails kept in memory.
   * @defaultValue 64 MiB
   */
  thumbnailCacheBytes?: number;
  /** How long a client may take; see {@link ServerTimeouts}. */
  timeouts?: ServerTimeouts;
  /** Fastify's logger (`true` for JSON lines on stdout). @defaultValue false */
  logger?: boolean;
}

/**
 * How long a client may take before its connection is closed, and how long `app.close()` waits for the requests in
 * flight: a few slow or stalled clients cannot hold connections (and the memory behind them) for ever, and a shutdown
 * always ends. These are Node's own server settings (`headersTimeout`, `requestTimeout`, the socket timeout,
 * `keepAliveTimeout`), checked every second rather than Node's default 30.
 */
export interface ServerTimeouts {
  /** From the first byte to the end of the headers. @defaultValue 10,000 ms */
  headersMs?: number;
  /** From the first byte to the end of the body (a whole upload). @defaultValue 60,000 ms */
  requestMs?: number;
  /** A connection with no bytes either way for this long is closed. @defaultValue 30,000 ms */
  idleMs?: number;
  /** An idle keep-alive connection is kept this long. @defaultValue 5,000 ms */
  keepAliveMs?: number;
  /** After `app.close()`, requests in flight get this long to finish; then every socket is destroyed. @defaultValue 10,000 ms */
  shutdownGraceMs?: number;
}

/**
 * The search service behind `cbir serve`: a Fastify app with a JSON API over one index and the page at `/`.
 *
 * - `POST /api/search?k=&label=`: an image as multipart field `image` or as the raw body (`image/*`), embedded as the
 *   collection was; answers `{ results: [{ id, distance, path, label, cluster }], took: { embedMs, searchMs } }`.
 * - `GET /api/similar/:id?k=&label=`: the items nearest to an indexed one (itself excluded).
 * - `GET /api/items?offset=&limit=` (the collection in id order), `GET /api/items/:id`, `GET /api/thumb/:id?size=` (a cached JPEG), `GET /api/clusters`, `GET /api/clusters/:c`,
 *   `GET /api/duplicates`, `GET /api/duplicates/:group/:member/thumb`,
 *   `GET /api/info`, `GET /healthz`.
 *
 * Errors are JSON `{ error: { code, message } }`. The routes are Fastify plugins (`routes/`), one per group, over a
 * shared context (`context.ts`); what every request goes through is installed first (`guards.ts`). Uploads are capped in bytes and pixels and must be an image sharp
 * decodes; thumbnails exist only for indexed items (no path from a request reaches the file system); a burst of uploads
 * waits in a bounded queue and is encoded in batches; concurrent searches run as one batched search. The caller owns the retriever: dispose of it (and close a LanceDB index) after `app.close()`.
 *
 * @example
 * ```ts
 * const retriever = await loadRetriever('exact.cbirindex');
 * retriever.embedder = await openQueryEmbedder(retriever, { model: (await loadModel('model')).model });
 * const app = await createSearchServer({ retriever });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 * ```
 */
export async function createSearchServer(options: SearchServerOptions): Promise<FastifyInstance> {
  const { retriever, clusters, token } = options;
  const { index, embedder } = retriever;
  const maxUploadBytes = options.maxUploadBytes ?? 20 * 1024 * 1024;
  const maxPixels = options.maxPixels ?? 40_000_000;
  const maxK = options.maxK ?? 100;
  const thumbs = new ThumbnailCache(options.thumbnailCacheBytes ?? 64 * 1024 * 1024);
  const batcher = new SearchBatcher(retriever);
  const maxQueue = options.maxQueue ?? 32;
  const encoder = embedder
    ? new BatchQueue((images: Uint8Array[]) => embedder.embedMany(images), options.maxBatch ?? 16, maxQueue)
    : undefined;
  const items = options.items ?? (await snapshotItems(index));
  const name = options.name === undefined ? index.kind : basename(options.name);

  // Loaded here, not at import: `import 'cbir-node'` stays free of the HTTP stack.
  const [{ default: Fastify }, { default: multipart }] = await Promise.all([
    import('fastify'),
    import('@fastify/multipart'),
  ]);
  const timeouts = {
    headersMs: 10_000,
    requestMs: 60_000,
    idleMs: 30_000,
    keepAliveMs: 5_000,
    shutdownGraceMs: 10_000,
    ...options.timeouts,
  };
  for (const [key, ms] of Object.entries(timeouts))
    if (!(Number.isFinite(ms) && ms > 0))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `createSearchServer: timeouts.${key} must be a positive number of ms, got ${ms}.`,
      );
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: maxUploadBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    connectionTimeout: timeouts.idleMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    requestTimeout: Math.max(timeouts.requestMs, timeouts.headersMs),
    // Node checks the headers and request timeouts on this interval (30 s by default, so a 10 s limit meant 40).
    http: {
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: Math.min(1000, timeouts.headersMs),
    },
    // What Node's parser refuses (a malformed request line, 16 KB of headers, a timeout) answered in the API's shape.
    clientErrorHandler: answerClientError,
    // Unknown query parameters are errors, not silently dropped (ajv's default in Fastify removes them).
    ajv: { customOptions: { removeAdditional: false } },
  });
  await app.register(multipart, {
    limits: { fileSize: maxUploadBytes, files: 1, fields: 4, parts: 5, fieldSize: 1024 },
  });
  app.addContentTypeParser(
    /^image\/|^application\/octet-stream$/,
    { parseAs: 'buffer', bodyLimit: maxUploadBytes },
    (_req, body, done) => done(null, body),
  );

  app.setErrorHandler((err: FastifyError | ApiError | Error, req, reply) => {
    const [status, code, message] = describeError(err, maxUploadBytes);
    if (status >= 500) req.log.error(err);
    return reply.code(status).send({ error: { code, message } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NOT_FOUND', message: `no such route: ${req.method} ${req.url.split('?')[0]}` } }),
  );

  installGuards(app, { token, shutdownGraceMs: timeouts.shutdownGraceMs });

  // The routes, one Fastify plugin per group, each given what the server shares. Registered after the guards and the
  // error handler, which they inherit (the token's onRoute hook sees every route of every plugin).
  const ctx: ServerContext = {
    retriever,
    index,
    embedder,
    encoder,
    batcher,
    thumbs,
    items,
    ...collectionFacets(items),
    name,
    clusters,
    duplicates: options.duplicates && serveDuplicates(options.duplicates, items),
    limits: { maxUploadBytes, maxPixels, maxK, maxQueue },
    admitUpload: uploadAdmission(embedder !== undefined, maxUploadBytes, maxQueue),
  };
  await app.register(infoRoutes, ctx);
  await app.register(searchRoutes, ctx);
  await app.register(itemRoutes, ctx);
  await app.register(clusterRoutes, ctx);
  await app.register(duplicateRoutes, ctx);
  await app.register(pageRoutes);
  if (options.watch) {
    if (!embedder)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `createSearchServer: watching ${options.watch.dir} needs the retriever's query embedder, to embed new files.`,
      );
    const { dir, save, saveEveryMs = 30_000 } = options.watch;
    // After each checkpoint of a sync: new items are served, gone ones no longer listed.
    const refresh = async () => {
      ctx.items = await snapshotItems(index);
      Object.assign(ctx, collectionFacets(ctx.items));
    };
    const watcher = new FolderWatcher({
      dir,
      debounceMs: options.watch.debounceMs,
      rescanMs: options.watch.rescanMs,
      onSync: options.watch.onSync,
      sync: async () => {
        let saved = Date.now();
        return syncIndex(retriever, dir, {
          checkpoint: async (final) => {
            if (final || Date.now() - saved >= saveEveryMs) {
              await save();
              saved = Date.now();
            }
            await refresh();
          },
        });
      },
    });
    ctx.watcher = watcher;
    app.addHook('onClose', () => watcher.close());
    await watcher.start();
  }
  return app;
}

/** Every item's metadata, read once: the page's labels and filters and every answer's paths come from it. @internal */
export async function snapshotItems(index: Index | AsyncIndex): Promise<Map<number, ItemMetadata>> {
  const out = new Map<number, ItemMetadata>();
  for (const [id, m] of await readMetadata(index)) out.set(id, m ?? {});
  return out;
}
