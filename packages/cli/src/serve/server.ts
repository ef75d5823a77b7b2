// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- ambient declarations of the ?raw and ?bundle imports, which a .d.ts cannot export
/// <reference path="./assets.d.ts" />
import { createHash, timingSafeEqual } from 'node:crypto';
import { basename } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sharp from 'sharp';
import {
  CbirError,
  ImageDecodeError,
  readMetadata,
  type AsyncIndex,
  type Index,
  type ItemMetadata,
  type Reranker,
} from 'cbir-core';
import { queryNeedsModel, type QueryEmbedder } from 'cbir-node';
import type { ClusterAssignments } from './clusters.js';
import { BatchQueue } from './batch-queue.js';
import { SearchBatcher } from './search-batcher.js';
import { ThumbnailCache } from './thumbnails.js';
import pageHtml from './page/index.html?raw';
import pageCss from './page/style.css?raw';
import pageJs from './page/app.ts?bundle';

/** Options of {@link createSearchServer}. */
export interface SearchServerOptions {
  /** The index to serve: a file loaded with `loadIndex`, or a `LanceIndex`. */
  index: Index | AsyncIndex;
  /** How the page and messages name the index (a file's base name is shown, never its folder). @defaultValue the index's kind, e.g. 'exact' */
  name?: string;
  /** Embeds uploaded images as the collection was (see `openQueryEmbedder`); without it uploads answer `NO_QUERY_MODEL`. */
  embedder?: QueryEmbedder;
  /** Re-ranks every search (an in-memory index's saved re-ranker, as `cbir search --rerank auto` uses it); in-memory indexes only. */
  reranker?: Reranker;
  /** The items' clusters, served at `/api/clusters`. */
  clusters?: ClusterAssignments;
  /**
   * Every item's metadata, when the caller has read it already (to check `clusters` against it, say): a LanceDB table
   * is then scanned once, not twice. @defaultValue read from the index at start
   */
  items?: Map<number, ItemMetadata>;
  /** When set, every `/api/` request needs it as `Authorization: Bearer TOKEN` or `?token=TOKEN`. */
  token?: string;
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

/** A hit as the API returns it. */
interface ApiHit {
  id: number;
  distance: number;
  path?: string;
  label?: string;
  cluster?: number;
}

/** Routes anyone may call without the token: the page and its assets, and the health check. */
const PUBLIC_ROUTES = new Set(['/', '/app.js', '/style.css', '/healthz']);
/** Request headers accepted; browsers send about 20. Node itself only drops those past 2,000, in silence. */
const MAX_HEADERS = 100;
/** The longest file name a form may give its upload (the name is never used, only bounded). */
const MAX_FILE_NAME = 1024;
/** The most elongated image an upload may be: squaring a 1 x 39,000,000 strip fails in libvips after 25 s. */
const MAX_ASPECT = 32;

/** The image formats an upload may be in: what sharp decodes from bytes alone (no SVG, which can reference files). */
const IMAGE_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif']);
const FORMAT_NAMES = 'JPEG, PNG, WebP, GIF, TIFF or AVIF';

/** An error the API reports as `{ error: { code, message } }` with an HTTP status. */
class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The search service behind `cbir serve`: a Fastify app with a JSON API over one index and the page at `/`.
 *
 * - `POST /api/search?k=&label=`: an image as multipart field `image` or as the raw body (`image/*`), embedded as the
 *   collection was; answers `{ results: [{ id, distance, path, label, cluster }], took: { embedMs, searchMs } }`.
 * - `GET /api/similar/:id?k=&label=`: the items nearest to an indexed one (itself excluded).
 * - `GET /api/items?offset=&limit=` (the collection in id order), `GET /api/items/:id`, `GET /api/thumb/:id?size=` (a cached JPEG), `GET /api/clusters`, `GET /api/clusters/:c`,
 *   `GET /api/info`, `GET /healthz`.
 *
 * Errors are JSON `{ error: { code, message } }`. Uploads are capped in bytes and pixels and must be an image sharp
 * decodes; thumbnails exist only for indexed items (no path from a request reaches the file system); a burst of uploads
 * waits in a bounded queue and is encoded in batches; concurrent searches run as one batched search. The caller owns the index and the embedder: close them after `app.close()`.
 *
 * @example
 * ```ts
 * const index = await loadIndex('exact.cbirindex');
 * const embedder = await openQueryEmbedder(index, { model: (await loadModel('model')).model }, 'exact.cbirindex');
 * const app = await createSearchServer({ index, embedder });
 * await app.listen({ port: 8080, host: '127.0.0.1' });
 * ```
 */
export async function createSearchServer(options: SearchServerOptions): Promise<FastifyInstance> {
  const { index, embedder, clusters, token } = options;
  const maxUploadBytes = options.maxUploadBytes ?? 20 * 1024 * 1024;
  const maxPixels = options.maxPixels ?? 40_000_000;
  const maxK = options.maxK ?? 100;
  const thumbs = new ThumbnailCache(options.thumbnailCacheBytes ?? 64 * 1024 * 1024);
  const batcher = new SearchBatcher(index, options.reranker);
  const maxQueue = options.maxQueue ?? 32;
  const encoder = embedder
    ? new BatchQueue((images: Uint8Array[]) => embedder.embedMany(images), options.maxBatch ?? 16, maxQueue)
    : undefined;
  const items = options.items ?? (await snapshotItems(index));
  const labels = [
    ...new Set([...items.values()].map((m) => m.label).filter((l): l is string => l !== undefined)),
  ].sort();
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

  // Draining: close() stops accepting and closes idle keep-alive sockets; a response finished while closing asks its
  // client to close too, or its socket would hold close() open for Fastify's 72-second keep-alive.
  // After the grace period, every socket is destroyed: a stalled upload or half-sent header cannot hold close() open.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    setTimeout(() => app.server.closeAllConnections(), timeouts.shutdownGraceMs).unref();
  });
  // What Node's parser lets through but no client of this API sends: HTTP/0.9-style request lines, thousands of headers.
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersionMajor !== 1)
      throw new ApiError(505, 'HTTP_VERSION', `HTTP/${req.raw.httpVersion} is not served: send HTTP/1.0 or HTTP/1.1.`);
    if (req.raw.rawHeaders.length > 2 * MAX_HEADERS)
      throw new ApiError(
        431,
        'TOO_MANY_HEADERS',
        `the request has ${req.raw.rawHeaders.length / 2} headers; this server takes at most ${MAX_HEADERS}.`,
      );
  });
  // Integers as plain decimal digits: ajv would coerce "Infinity" and "1e400" to Infinity, which passes `maximum`,
  // and "0x10" to 16.
  app.addHook('preValidation', async (req) => {
    const schema = req.routeOptions.schema as { querystring?: unknown; params?: unknown } | undefined;
    for (const [where, values, spec] of [
      ['query', req.query, schema?.querystring],
      ['path', req.params, schema?.params],
    ] as const) {
      const props = (spec as { properties?: Record<string, { type?: string }> } | undefined)?.properties ?? {};
      for (const [key, value] of Object.entries((values ?? {}) as Record<string, unknown>)) {
        if (props[key]?.type === 'integer' && typeof value === 'string' && !/^\d{1,15}$/.test(value))
          throw new ApiError(
            400,
            'INVALID_REQUEST',
            `${where} parameter ${key} must be a whole number (decimal digits), got "${value.slice(0, 32)}".`,
          );
      }
    }
  });
  app.addHook('onSend', async (_req, reply) => {
    reply
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY');
    if (closing) reply.header('connection', 'close');
  });
  if (token !== undefined) {
    // On the route the router matched, never on the raw URL: /%61pi/info and GET http://host/api/info are /api/info.
    const authorize = tokenCheck(token);
    app.addHook('onRoute', (route) => {
      if (PUBLIC_ROUTES.has(route.url)) return;
      route.onRequest = [authorize, ...(route.onRequest === undefined ? [] : [route.onRequest].flat())];
    });
  }

  // Uploads admitted at once: counted before the body is read, so at most maxQueue bodies are ever held in memory.
  let uploads = 0;
  const admitUpload = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!embedder) return; // answered NO_QUERY_MODEL by the handler, before any body is read
    const length = Number(req.headers['content-length']);
    if (length > maxUploadBytes + 64 * 1024)
      throw new ApiError(
        413,
        'UPLOAD_TOO_LARGE',
        `the upload is larger than this server takes (${megabytes(maxUploadBytes)} MB); send a smaller image.`,
      );
    if (uploads >= maxQueue)
      throw new ApiError(
        503,
        'BUSY',
        `${maxQueue} uploads are already being received or embedded; try again in a moment.`,
      );
    uploads++;
    reply.raw.once('close', () => uploads--);
  };

  const item = (id: number): Omit<ApiHit, 'distance'> => ({
    id,
    ...items.get(id),
    ...(clusters?.clusterOf.has(id) ? { cluster: clusters.clusterOf.get(id) } : {}),
  });
  const hit = (id: number, distance: number): ApiHit => ({ ...item(id), distance });

  /** The k nearest items to `vector` (with `label` only, and without `exclude`), searching deeper until k are found. */
  async function nearest(vector: Float32Array, k: number, exclude?: number, label?: string): Promise<ApiHit[]> {
    const wanted = k + (exclude === undefined ? 0 : 1);
    let depth = Math.min(index.size, label === undefined ? wanted : wanted * 4);
    for (;;) {
      const res = await batcher.search(vector, depth, exclude);
      const hits: ApiHit[] = [];
      for (let j = 0; j < res.k && hits.length < k; j++) {
        const id = res.ids[j];
        if (id < 0 || id === exclude || (label !== undefined && items.get(id)?.label !== label)) continue;
        hits.push(hit(id, res.distances[j]));
      }
      if (hits.length >= k || depth >= index.size) return hits;
      depth = Math.min(index.size, depth * 4);
    }
  }

  const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 0 } } } as const;
  const searchQuery = {
    type: 'object',
    additionalProperties: false,
    properties: {
      k: { type: 'integer', minimum: 1, maximum: maxK, default: 10 },
      label: { type: 'string', maxLength: 256 },
      token: { type: 'string' },
    },
  } as const;
  const itemOf = (id: number): ItemMetadata => {
    const item = items.get(id);
    if (!item) throw new ApiError(404, 'NOT_FOUND', `item ${id} is not in the index (${index.size} items).`);
    return item;
  };

  app.get('/healthz', async () => ({ status: 'ok', items: index.size }));

  app.get('/api/info', async () => ({
    name,
    index: { kind: index.kind, metric: index.metric, size: index.size, dim: index.dim },
    backend: embedder && queryNeedsModel(index) ? (tf.getBackend() ?? null) : null,
    query: embedder?.description ?? null,
    rerank: options.reranker?.spec().kind ?? null,
    labels,
    clusters: clusters ? { k: clusters.k } : null,
    limits: { maxUploadBytes, maxPixels, maxK, formats: FORMAT_NAMES },
  }));

  app.post('/api/search', { schema: { querystring: searchQuery }, onRequest: admitUpload }, async (req) => {
    const { k, label } = req.query as { k: number; label?: string };
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
    const results = await nearest(checkVector(embedded.value), k, undefined, label);
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

  app.get('/api/similar/:id', { schema: { params: idParams, querystring: searchQuery } }, async (req) => {
    const { id } = req.params as { id: number };
    const { k, label } = req.query as { k: number; label?: string };
    itemOf(id);
    const t0 = performance.now();
    const vector = await index.vector(id);
    if (!vector) throw new ApiError(404, 'NOT_FOUND', `item ${id} is not in the index.`);
    const results = await nearest(vector, k, id, label);
    return { query: item(id), results, took: { searchMs: round(performance.now() - t0) } };
  });

  const ordered = [...items.keys()].sort((a, b) => a - b);
  app.get(
    '/api/items',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            offset: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            token: { type: 'string' },
          },
        },
      },
    },
    async (req) => {
      const { offset, limit } = req.query as { offset: number; limit: number };
      return { size: ordered.length, offset, items: ordered.slice(offset, offset + limit).map(item) };
    },
  );

  app.get('/api/items/:id', { schema: { params: idParams } }, async (req) => {
    const { id } = req.params as { id: number };
    itemOf(id);
    return item(id);
  });

  app.get(
    '/api/thumb/:id',
    {
      schema: {
        params: idParams,
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
      const path = itemOf(id).path;
      if (!path) throw new ApiError(404, 'NO_IMAGE', `item ${id} has no image file recorded in the index.`);
      let bytes: Uint8Array;
      try {
        bytes = await thumbs.get(path, size);
      } catch {
        throw new ApiError(404, 'NO_IMAGE', `the image of item ${id} (${basename(path)}) cannot be read any more.`);
      }
      return reply
        .type('image/jpeg')
        .header('cache-control', 'private, max-age=3600')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
  );

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
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            offset: { type: 'integer', minimum: 0, default: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
            token: { type: 'string' },
          },
        },
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

  const pageHeaders = {
    'cache-control': 'no-cache',
    'content-security-policy':
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  };
  app.get('/', async (_req, reply) => reply.headers(pageHeaders).type('text/html; charset=utf-8').send(pageHtml));
  app.get('/app.js', async (_req, reply) =>
    reply.headers(pageHeaders).type('text/javascript; charset=utf-8').send(pageJs),
  );
  app.get('/style.css', async (_req, reply) =>
    reply.headers(pageHeaders).type('text/css; charset=utf-8').send(pageCss),
  );
  return app;
}

/** Every item's metadata, read once: the page's labels and filters and every answer's paths come from it. @internal */
export async function snapshotItems(index: Index | AsyncIndex): Promise<Map<number, ItemMetadata>> {
  const out = new Map<number, ItemMetadata>();
  for (const [id, m] of await readMetadata(index)) out.set(id, m ?? {});
  return out;
}

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

/** A hook that refuses a request without the token, given as `Authorization: Bearer TOKEN` or once as `?token=`. */
function tokenCheck(token: string): (req: FastifyRequest) => Promise<void> {
  const want = createHash('sha256').update(token).digest();
  return async (req) => {
    const header = req.headers.authorization;
    const query = (req.query as Record<string, unknown> | undefined)?.token;
    if (Array.isArray(query))
      throw new ApiError(
        400,
        'INVALID_REQUEST',
        `the token is given ${query.length} times in the query; give it once.`,
      );
    const given = header !== undefined ? (header.startsWith('Bearer ') ? header.slice(7) : undefined) : query;
    if (typeof given !== 'string' || !timingSafeEqual(createHash('sha256').update(given).digest(), want)) {
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        'this server needs its token: send Authorization: Bearer TOKEN, or open the page as /?token=TOKEN.',
      );
    }
  };
}

/** The uploaded bytes: multipart field `image` (the form's one file), or the raw body. */
async function uploadOf(req: FastifyRequest): Promise<Uint8Array> {
  if (req.isMultipart()) {
    let bytes: Buffer | undefined;
    try {
      // Every part is read, so a second file is refused rather than dropped in silence.
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        if (part.filename.length > MAX_FILE_NAME)
          throw new ApiError(
            400,
            'INVALID_UPLOAD',
            `the form's file name is ${part.filename.length} characters long; at most ${MAX_FILE_NAME} are accepted.`,
          );
        if (part.fieldname !== 'image')
          throw new ApiError(
            400,
            'NO_IMAGE',
            `the form's file is in field "${part.fieldname.slice(0, 64)}"; send it in a field named "image".`,
          );
        bytes = await part.toBuffer();
      }
    } catch (e) {
      throw multipartError(e);
    }
    if (!bytes) throw new ApiError(400, 'NO_IMAGE', 'the form has no file: send the image in a field named "image".');
    return bytes;
  }
  if (!Buffer.isBuffer(req.body))
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `send the image as multipart/form-data (field "image") or as the raw body with an image/* content type.`,
    );
  return req.body;
}

/** Answers a request Node's HTTP parser refused, as `{ error: { code, message } }`, and closes the connection. */
function answerClientError(err: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'TOO_MANY_HEADERS', 'the request headers exceed 16 KB.']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'TIMEOUT', 'the request took too long to arrive.']
        : [400, 'Bad Request', 'BAD_REQUEST', `the request is not valid HTTP/1.1 (${err.code ?? 'unparsable'}).`];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** A client's malformed form as a 4xx: busboy's parse errors are plain Errors, which would read as 500 INTERNAL. */
function multipartError(e: unknown): Error {
  if (e instanceof ApiError) return e;
  const code = (e as FastifyError)?.code;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') return e as Error;
  if (code === 'FST_FILES_LIMIT')
    return new ApiError(400, 'TOO_MANY_FILES', 'the form has more than one file: send one image per request.');
  if (code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')
    return new ApiError(
      400,
      'INVALID_UPLOAD',
      'the form has too many fields: send one file, in a field named "image".',
    );
  const why = String((e as Error)?.message ?? e).slice(0, 200);
  return new ApiError(
    400,
    'INVALID_UPLOAD',
    `the multipart form cannot be read (${why}): send one file in a field named "image", with the boundary named in Content-Type and CRLF line ends, as FormData does.`,
  );
}

/** Refuses what is not an image sharp decodes, or has more pixels than allowed, from its header alone. */
async function checkImage(bytes: Uint8Array, maxPixels: number): Promise<void> {
  if (bytes.length === 0)
    throw new ApiError(400, 'EMPTY_UPLOAD', `the upload is empty (0 bytes): send a ${FORMAT_NAMES} image.`);
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new ApiError(
      415,
      'UNSUPPORTED_IMAGE',
      `the upload (${bytes.length} bytes) is not an image cbir can read: send a ${FORMAT_NAMES} file.`,
    );
  }
  if (!meta.format || !IMAGE_FORMATS.has(meta.format))
    throw new ApiError(
      415,
      'UNSUPPORTED_IMAGE',
      `the upload is ${meta.format ?? 'of an unknown type'}; send a ${FORMAT_NAMES} file.`,
    );
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new ApiError(
      413,
      'IMAGE_TOO_LARGE',
      `the image is ${width} x ${height} (${(pixels / 1e6).toFixed(1)} megapixels); this server takes at most ${(maxPixels / 1e6).toFixed(1)}. Send a smaller image.`,
    );
  }
  if (width < 1 || height < 1 || Math.max(width, height) > MAX_ASPECT * Math.min(width, height))
    throw new ApiError(
      400,
      'IMAGE_SHAPE',
      `the image is ${width} x ${height}; this server takes images at most ${MAX_ASPECT} times longer than wide (or wide than long). Crop it first.`,
    );
}

function checkVector(v: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]))
      throw new ApiError(
        500,
        'BAD_VECTOR',
        `the query's vector has a non-finite value at ${i}; the model or its reducer is broken.`,
      );
  }
  return v;
}

function describeError(err: FastifyError | ApiError | Error, maxUploadBytes: number): [number, string, string] {
  if (err instanceof ApiError) return [err.statusCode, err.code, err.message];
  if (err instanceof ImageDecodeError)
    return [415, 'UNSUPPORTED_IMAGE', `the upload cannot be decoded as an image: send a ${FORMAT_NAMES} file.`];
  if (err instanceof CbirError) return [400, err.code, err.message];
  const e = err as FastifyError;
  if (e.validation) return [400, 'INVALID_REQUEST', e.message];
  const mb = megabytes(maxUploadBytes);
  if (e.code === 'FST_REQ_FILE_TOO_LARGE' || e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return [413, 'UPLOAD_TOO_LARGE', `the upload is larger than this server takes (${mb} MB); send a smaller image.`];
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || e.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
    return [
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'send the image as multipart/form-data (field "image") or as the raw body with an image/* content type.',
    ];
  }
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH')
    return [400, 'INVALID_REQUEST', e.message];
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return [e.statusCode, e.code ?? 'INVALID_REQUEST', e.message];
  return [500, 'INTERNAL', 'the server failed on this request; its log says why.'];
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 0);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
