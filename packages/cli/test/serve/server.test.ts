import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoderV2,
  createIndex,
  DiffusionReranker,
  directoryDataset,
  embedImages,
  initNodeBackend,
  LanceIndex,
  modelFingerprint,
  saveModel,
  Retriever,
  searchReranked,
  type AsyncIndex,
  type DuplicateReport,
  type EmbeddingPipeline,
  type Index,
  type QueryEmbedder,
  type Reranker,
} from 'cbir-node';
import { openQueryEmbedderFor } from '../../src/query-model.js';
import { readClusterAssignments } from '../../src/serve/clusters.js';
import { BatchQueue } from '../../src/serve/batch-queue.js';
import { SearchBatcher } from '../../src/serve/search-batcher.js';
import { createSearchServer, snapshotItems, type SearchServerOptions } from '../../src/serve/server.js';
import { writeAssignments } from '../../src/commands/cluster.js';
import { makeImageFolder } from '../../../node/test/helpers.js';

type App = Awaited<ReturnType<typeof createSearchServer>>;
type Req = { method: 'GET' | 'POST'; url: string; payload?: string | Buffer; headers?: Record<string, string> };

/** A multipart body with one file field, as a browser's FormData sends it. */
function multipart(
  field: string,
  filename: string,
  bytes: Uint8Array,
  type = 'application/octet-stream',
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----cbirtest' + 'x'.repeat(8);
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, Buffer.from(bytes), tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** The k nearest by a float64 scan over the index's own vectors: the oracle the API's answers are held to. */
async function oracle(
  index: Index,
  query: Float32Array,
  k: number,
  exclude?: number,
): Promise<{ id: number; distance: number }[]> {
  const all: { id: number; distance: number }[] = [];
  for (const id of index.idList()) {
    if (id === exclude) continue;
    const v = index.vector(id)!;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (v[i] - query[i]) ** 2;
    all.push({ id, distance: Math.sqrt(s) });
  }
  return all.sort((a, b) => a.distance - b.distance || a.id - b.id).slice(0, k);
}

describe('cbir serve: the search service', () => {
  let dir: string;
  let modelDir: string;
  let index: Index;
  let pipeline: EmbeddingPipeline;
  let embedder: QueryEmbedder;
  /** A server over `index` (or `over`) as a Retriever with the pipeline that made it. */
  const serving = ({
    over = index,
    embedder: e,
    reranker,
    ...options
  }: Omit<SearchServerOptions, 'retriever'> & {
    over?: Index | AsyncIndex;
    embedder?: QueryEmbedder;
    reranker?: Reranker;
  }) =>
    createSearchServer({
      retriever: new Retriever(over, { pipeline: over === index ? pipeline : undefined, embedder: e, reranker }),
      ...options,
    });
  const queryEmbedder = () =>
    openQueryEmbedderFor(new Retriever(index, { pipeline, source: 'test index' }), { model: modelDir });
  let app: App;
  let paths: string[];

  beforeAll(async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    dir = await makeImageFolder(6);
    modelDir = await mkdtemp(join(tmpdir(), 'cbir-serve-model-'));
    const model = new ConvAutoencoderV2({ inputSize: 32, seed: 3 });
    await saveModel(model, modelDir);
    const data = await directoryDataset(dir, { size: 32 });
    const f = await embedImages(model, data);
    paths = f.ids.map((id) => join(data.root, id));
    index = createIndex('exact', f.matrix.cols);
    index.add(
      f.matrix,
      undefined,
      f.ids.map((_, i) => ({ path: paths[i], label: f.labels[i] })),
    );
    pipeline = {
      architecture: model.architecture.name,
      inputSize: 32,
      model: modelFingerprint(model),
      reducer: f.reducer,
    };
    model.dispose();
    embedder = await queryEmbedder();
    app = await serving({ embedder, name: '/some/folder/test.cbirindex' });
  });
  afterAll(async () => {
    await app?.close();
    embedder?.dispose();
  });

  it('describes the index, its labels and its limits; names the file without its folder', async () => {
    const res = await app.inject('/api/info');
    expect(res.statusCode).toBe(200);
    const info = res.json();
    expect(info).toMatchObject({
      name: 'test.cbirindex',
      index: { kind: 'exact', metric: 'euclidean', size: index.size, dim: index.dim },
      labels: ['blue', 'green', 'red'],
      clusters: null,
    });
    expect(info.query).toContain('ConvAutoencoderV2 at 32 px');
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok', items: index.size });
  });

  it('an uploaded image is embedded as the collection was: an indexed file finds itself at distance 0, as multipart and as a raw body', async () => {
    for (const id of [0, 7, index.size - 1]) {
      const bytes = await readFile(paths[id]);
      const viaForm = await app.inject({
        method: 'POST',
        url: '/api/search?k=5',
        ...multipart('image', 'q.jpg', bytes),
      });
      expect(viaForm.statusCode, viaForm.body).toBe(200);
      const form = viaForm.json();
      const expected = await oracle(index, index.vector(id)!, 5);
      expect(form.results.map((r: { id: number }) => r.id)[0]).toBe(id);
      expect(form.results[0].distance).toBeLessThan(1e-4);
      form.results.forEach((r: { id: number; distance: number; path: string; label: string }, j: number) => {
        expect(r.distance).toBeCloseTo(expected[j].distance, 4);
        expect(r.path).toBe(paths[r.id]);
        expect(r.label).toBe(index.metadata(r.id)!.label);
      });
      const raw = await app.inject({
        method: 'POST',
        url: '/api/search?k=5',
        payload: bytes,
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(raw.json().results).toEqual(form.results);
    }
  });

  it('concurrent uploads are encoded as one batch, each as a lone upload is, and a bad one fails alone', async () => {
    const ids = [0, 4, 8, 12, 16];
    const send = (payload: Buffer | string) =>
      app.inject({ method: 'POST', url: '/api/search?k=4', payload, headers: { 'content-type': 'image/jpeg' } });
    const files = await Promise.all(ids.map((id) => readFile(paths[id])));
    const alone: { results: { id: number; distance: number }[] }[] = [];
    for (const f of files) alone.push((await send(f)).json());
    const together = await Promise.all([...files.map(send), send(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]))]);
    expect(Math.max(...together.slice(0, -1).map((r) => r.json().took.batch))).toBeGreaterThan(1);
    together.slice(0, -1).forEach((r, i) => {
      const got = r.json().results;
      expect(got.map((h: { id: number }) => h.id)).toEqual(alone[i].results.map((h: { id: number }) => h.id));
      got.forEach((h: { distance: number }, j: number) =>
        expect(h.distance).toBeCloseTo(alone[i].results[j].distance, 4),
      );
    });
    expect(together.at(-1)!.statusCode).toBe(415);
  });

  it('similar items: the exact k nearest of an indexed item, itself excluded, with a label filter searching deeper', async () => {
    for (const id of [2, 11]) {
      const res = (await app.inject(`/api/similar/${id}?k=6`)).json();
      expect(res.query).toMatchObject({ id, path: paths[id] });
      const expected = await oracle(index, index.vector(id)!, 6, id);
      expect(res.results.map((r: { id: number }) => r.id)).toEqual(expected.map((e) => e.id));
      res.results.forEach((r: { distance: number }, j: number) =>
        expect(r.distance).toBeCloseTo(expected[j].distance, 6),
      );
    }
    // The farthest label from item 0 among the others: found although none of them is in its first k.
    const label = index.metadata(0)!.label === 'blue' ? 'green' : 'blue';
    const filtered = (await app.inject(`/api/similar/0?k=4&label=${label}`)).json().results;
    const members = (await oracle(index, index.vector(0)!, index.size, 0)).filter(
      (e) => index.metadata(e.id)!.label === label,
    );
    expect(filtered.map((r: { id: number }) => r.id)).toEqual(members.slice(0, 4).map((e) => e.id));
  });

  it('concurrent requests are searched as one batch and get exactly what lone requests get', async () => {
    const urls = index.idList().flatMap((id) => [`/api/similar/${id}?k=5`, `/api/similar/${id}?k=3&label=red`]);
    const alone: unknown[] = [];
    for (const url of urls) alone.push((await app.inject(url)).json().results);
    const together = await Promise.all(urls.map((url) => app.inject(url)));
    expect(together.map((r) => r.json().results)).toEqual(alone);
  });

  it('re-ranks with the re-ranker it is given, as cbir search does', async () => {
    const reranker = DiffusionReranker.build(index, { k: 5 });
    const reranked = await serving({ reranker });
    try {
      expect((await reranked.inject('/api/info')).json().rerank).toBe('diffusion');
      for (const id of [1, 9]) {
        const want = searchReranked(index, reranker, { data: index.vector(id)!, rows: 1, cols: index.dim }, 5, [id]);
        const got = (await reranked.inject(`/api/similar/${id}?k=4`)).json().results;
        const wantIds = Array.from(want.ids)
          .filter((x) => x !== id)
          .slice(0, 4);
        expect(got.map((r: { id: number }) => r.id)).toEqual(wantIds);
      }
    } finally {
      await reranked.close();
    }
  });

  it('items, pages of the collection and thumbnails, for indexed items only', async () => {
    expect((await app.inject('/api/items/3')).json()).toEqual({
      id: 3,
      path: paths[3],
      label: index.metadata(3)!.label,
    });
    const page = (await app.inject('/api/items?offset=2&limit=3')).json();
    expect(page).toMatchObject({ size: index.size, offset: 2 });
    expect(page.items.map((i: { id: number }) => i.id)).toEqual([2, 3, 4]);
    const thumb = await app.inject('/api/thumb/4?size=40');
    expect(thumb.statusCode).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(thumb.rawPayload).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(40);
    // The cache answers the same bytes.
    expect((await app.inject('/api/thumb/4?size=40')).rawPayload.equals(thumb.rawPayload)).toBe(true);
    // No path from the request reaches the file system: ids only.
    for (const url of [
      '/api/thumb/..%2F..%2Fetc%2Fpasswd',
      '/api/thumb/-1',
      '/api/thumb/1.5',
      `/api/thumb/${index.size}`,
      '/api/thumb/1?size=4096',
    ]) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.json().error.code).toMatch(/INVALID_REQUEST|NOT_FOUND/);
    }
  });

  it('bad requests get a JSON error with a code and a message, and the server keeps serving', async () => {
    const cases: [string, Req, number, string][] = [
      [
        'a text file',
        {
          method: 'POST',
          url: '/api/search',
          ...multipart('image', 'notes.txt', Buffer.from('not an image at all'), 'text/plain'),
        },
        415,
        'UNSUPPORTED_IMAGE',
      ],
      [
        'a 0-byte file',
        { method: 'POST', url: '/api/search', ...multipart('image', 'empty.png', new Uint8Array(0), 'image/png') },
        400,
        'EMPTY_UPLOAD',
      ],
      [
        'an SVG (it can reference files)',
        {
          method: 'POST',
          url: '/api/search',
          payload: '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>',
          headers: { 'content-type': 'image/svg+xml' },
        },
        415,
        'UNSUPPORTED_IMAGE',
      ],
      [
        'the wrong field',
        { method: 'POST', url: '/api/search', ...multipart('photo', 'a.jpg', Buffer.from('x')) },
        400,
        'NO_IMAGE',
      ],
      [
        'plain text',
        { method: 'POST', url: '/api/search', payload: 'hello', headers: { 'content-type': 'text/plain' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['k = 0', { method: 'GET', url: '/api/similar/1?k=0' }, 400, 'INVALID_REQUEST'],
      ['k too large', { method: 'GET', url: '/api/similar/1?k=101' }, 400, 'INVALID_REQUEST'],
      ['an unknown parameter', { method: 'GET', url: '/api/similar/1?kk=3' }, 400, 'INVALID_REQUEST'],
      ['an unknown id', { method: 'GET', url: '/api/similar/999' }, 404, 'NOT_FOUND'],
      ['no clusters', { method: 'GET', url: '/api/clusters' }, 404, 'NO_CLUSTERS'],
      ['an unknown route', { method: 'GET', url: '/etc/passwd' }, 404, 'NOT_FOUND'],
    ];
    for (const [what, req, status, code] of cases) {
      const res = await app.inject(req);
      expect(res.statusCode, what).toBe(status);
      const body = res.json();
      expect(body.error.code, what).toBe(code);
      expect(body.error.message.length, what).toBeGreaterThan(10);
    }
    expect((await app.inject('/api/similar/1?k=2')).statusCode).toBe(200);
  });

  it('uploads are capped in bytes and in pixels (read from the header, before decoding)', async () => {
    const small = await serving({ embedder, maxUploadBytes: 2000, maxPixels: 50 * 50 });
    try {
      const big = await sharp({ create: { width: 60, height: 60, channels: 3, background: '#f00' } })
        .png()
        .toBuffer();
      expect(big.length).toBeLessThan(2000);
      const tooMany = await small.inject({
        method: 'POST',
        url: '/api/search',
        payload: big,
        headers: { 'content-type': 'image/png' },
      });
      expect(tooMany.statusCode).toBe(413);
      expect(tooMany.json().error).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
      expect(tooMany.json().error.message).toContain('60 x 60');
      let seed = 12345;
      const noise = Array.from(
        { length: 40 * 40 * 3 },
        () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255,
      );
      const noisy = await sharp(Buffer.from(noise), { raw: { width: 40, height: 40, channels: 3 } })
        .png()
        .toBuffer();
      expect(noisy.length).toBeGreaterThan(2000);
      for (const req of [
        { payload: noisy, headers: { 'content-type': 'image/png' } },
        multipart('image', 'n.png', noisy, 'image/png'),
      ]) {
        const res = await small.inject({ method: 'POST', url: '/api/search', ...req });
        expect(res.statusCode).toBe(413);
        expect(res.json().error.code).toBe('UPLOAD_TOO_LARGE');
      }
      const ok = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0f0' } })
        .png()
        .toBuffer();
      expect(
        (
          await small.inject({
            method: 'POST',
            url: '/api/search?k=2',
            payload: ok,
            headers: { 'content-type': 'image/png' },
          })
        ).statusCode,
      ).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('without a model, uploads are refused with what to do; similar still works', async () => {
    const browse = await serving({});
    try {
      const res = await browse.inject({
        method: 'POST',
        url: '/api/search',
        payload: await readFile(paths[0]),
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('NO_QUERY_MODEL');
      expect(res.json().error.message).toContain('--model');
      expect((await browse.inject('/api/info')).json()).toMatchObject({ query: null, backend: null });
      expect((await browse.inject('/api/similar/0?k=3')).json().results).toHaveLength(3);
    } finally {
      await browse.close();
    }
  });

  it('a token guards the API (header or query), not the page', async () => {
    const guarded = await serving({ token: 'correct horse battery' });
    try {
      expect((await guarded.inject('/api/info')).statusCode).toBe(401);
      expect((await guarded.inject('/api/info')).json().error.code).toBe('UNAUTHORIZED');
      expect((await guarded.inject({ url: '/api/info', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(
        401,
      );
      expect(
        (await guarded.inject({ url: '/api/info', headers: { authorization: 'Bearer correct horse battery' } }))
          .statusCode,
      ).toBe(200);
      expect((await guarded.inject('/api/thumb/1?token=correct%20horse%20battery')).statusCode).toBe(200);
      expect((await guarded.inject('/')).statusCode).toBe(200);
      expect((await guarded.inject('/healthz')).statusCode).toBe(200);
      // The router decodes the path; the token is checked on the route it matched, so no spelling gets past it.
      for (const url of ['/%61pi/info', '/ap%69/items/0', '/%61pi/thumb/0', '/%61pi/similar/0', '/api/info'])
        for (const method of ['GET', 'HEAD'] as const)
          expect((await guarded.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
      expect(
        (
          await guarded.inject({
            method: 'POST',
            url: '/%61pi/search',
            payload: 'x',
            headers: { 'content-type': 'image/png' },
          })
        ).statusCode,
      ).toBe(401);
      const twice = await guarded.inject('/api/info?token=correct%20horse%20battery&token=correct%20horse%20battery');
      expect(twice.statusCode).toBe(400);
      expect(twice.json().error.message).toMatch(/given 2 times/);
    } finally {
      await guarded.close();
    }
  });

  it('integers in the query are decimal digits: Infinity, 1e400 and 0x10 are refused, not read as numbers', async () => {
    for (const k of ['Infinity', '1e400', '0x10', '1.5', '-1', '101', '']) {
      const res = await app.inject(`/api/similar/0?k=${k}`);
      expect(res.statusCode, `k=${k}`).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    expect((await app.inject('/api/similar/0?k=100')).statusCode).toBe(200);
  });

  it('a malformed multipart upload is a 400 with a code, never a 500', async () => {
    const { payload, headers } = multipart('image', 'q.png', await readFile(paths[0]));
    const boundary = headers['content-type'].split('boundary=')[1];
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const part = payload.subarray(0, payload.length - tail.length); // the boundary line, headers and file
    const cases: [string, Buffer, string][] = [
      ['no boundary', payload, 'multipart/form-data'],
      ['another boundary', payload, 'multipart/form-data; boundary=nope'],
      ['truncated', payload.subarray(0, 80), headers['content-type']],
      ['two files', Buffer.concat([part, Buffer.from('\r\n'), part, tail]), headers['content-type']],
    ];
    for (const [what, body, type] of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/search',
        payload: body,
        headers: { 'content-type': type },
      });
      expect(res.statusCode, what).toBe(400);
      expect(res.json().error.code, what).toMatch(/^(INVALID_UPLOAD|TOO_MANY_FILES)$/);
    }
  });

  it('serves the page, its script and styles with a strict content security policy', async () => {
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/app.js"');
    const js = await app.inject('/app.js');
    expect(js.headers['content-type']).toContain('javascript');
    expect(js.body).toContain('/api/similar/');
    expect(js.body).not.toContain('import ');
    expect((await app.inject('/style.css')).headers['content-type']).toContain('text/css');
  });

  it("clusters from cbir cluster's assignments.csv, checked against the index", async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-serve-clusters-'));
    const ids = paths.map((p) => p.slice(dir.length + 1));
    const labels = index.idList().map((id) => index.metadata(id)!.label!);
    const byLabel = labels.map((l) => ['red', 'green', 'blue'].indexOf(l));
    await writeAssignments(join(out, 'a.csv'), ids, labels, [
      { k: 2, labels: byLabel.map((c) => c % 2) },
      { k: 3, labels: byLabel },
    ]);
    const csv = await readFile(join(out, 'a.csv'), 'utf8');
    const items = await snapshotItems(index);
    const clusters = readClusterAssignments(csv, items, 'a.csv');
    expect(clusters.k).toBe(3);
    expect(readClusterAssignments(csv, items, 'a.csv', 2).k).toBe(2);
    expect(() => readClusterAssignments(csv, items, 'a.csv', 5)).toThrow(/no column for k = 5/);
    const swapped = csv.split('\n');
    [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
    expect(() => readClusterAssignments(swapped.join('\n'), items, 'a.csv')).toThrow(/row 2/);
    expect(() => readClusterAssignments(csv.split('\n').slice(0, 5).join('\n'), items, 'a.csv')).toThrow(
      /assigns 4 items; the index holds/,
    );
    const clustered = await serving({ clusters });
    try {
      const list = (await clustered.inject('/api/clusters')).json();
      expect(list.k).toBe(3);
      expect(list.clusters.map((c: { size: number }) => c.size)).toEqual(
        [0, 1, 2].map((c) => byLabel.filter((x) => x === c).length),
      );
      const members = (await clustered.inject('/api/clusters/1?limit=100')).json();
      expect(
        members.items.every((i: { label: string; cluster: number }) => i.label === 'green' && i.cluster === 1),
      ).toBe(true);
      expect((await clustered.inject('/api/clusters/3')).statusCode).toBe(404);
      expect((await clustered.inject('/api/similar/0?k=2')).json().results[0].cluster).toBeTypeOf('number');
    } finally {
      await clustered.close();
      await rm(out, { recursive: true });
    }
  });

  it('filters with where (as the exact filtered search) and cuts off with maxDistance; a bad filter is a 400', async () => {
    const q = (s: string) => encodeURIComponent(s);
    const green = index.idList().filter((id) => index.metadata(id)!.label === 'green');
    const first = green[0];
    const where = "label = 'green' OR path LIKE '%/red/1.%'";
    const passing = index.idList().filter((id) => {
      const m = index.metadata(id)!;
      return id !== first && (m.label === 'green' || /\/red\/1\./.test(m.path!));
    });
    const res = (await app.inject(`/api/similar/${first}?k=4&where=${q(where)}`)).json();
    const want = await oracle(index, index.vector(first)!, index.size, first);
    expect(res.results.map((r: { id: number }) => r.id)).toEqual(
      want
        .filter((w) => passing.includes(w.id))
        .slice(0, 4)
        .map((w) => w.id),
    );
    // With the label too: both must hold.
    const both = (await app.inject(`/api/similar/${first}?k=10&where=${q(where)}&label=red`)).json();
    expect(both.results.map((r: { path: string }) => r.path)).toEqual([paths.find((p) => /\/red\/1\./.test(p))]);
    const all = (await app.inject(`/api/similar/${first}?k=10`)).json().results as { distance: number }[];
    const cut = all[2].distance;
    const near = (await app.inject(`/api/similar/${first}?k=10&maxDistance=${cut}`)).json().results;
    expect(near).toEqual(all.slice(0, 3));
    const bad = await app.inject(`/api/similar/${first}?where=${q("colour = 'red'")}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toMatch(
      /no column "colour" \(the columns: id, path, label, width, height, bytes, mtime, hash, taken, make, model, orientation, gps\)/,
    );
    expect((await app.inject(`/api/similar/${first}?maxDistance=-1`)).statusCode).toBe(400);
    expect((await app.inject(`/api/similar/${first}?where=${'x'.repeat(10_001)}`)).statusCode).toBe(400);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('composes a query: more like these ids, less like those (Rocchio), examples left out of the results', async () => {
    const [first, a, b] = index.idList();
    const [v0, va, vb] = [first, a, b].map((id) => index.vector(id)!);
    // The formula in float64, by hand: the positives' mean minus notWeight times the negatives' mean.
    const q = Float32Array.from(v0, (x, i) => (x + va[i]) / 2 - 0.5 * vb[i]);
    const want = (await oracle(index, q, index.size)).filter((h) => ![first, a, b].includes(h.id)).slice(0, 5);
    const res = (await app.inject(`/api/similar/${first}?k=5&with=${a}&without=${b}&notWeight=0.5`)).json();
    expect(res.results.map((r: { id: number }) => r.id)).toEqual(want.map((h) => h.id));
    res.results.forEach((r: { distance: number }, j: number) => expect(r.distance).toBeCloseTo(want[j].distance, 4));
    // An uploaded image composes the same way: the indexed file's own bytes, with the same examples.
    const bytes = await readFile(index.metadata(first)!.path!);
    const upload = multipart('image', 'q.jpg', bytes, 'image/jpeg');
    const viaUpload = (
      await app.inject({
        method: 'POST',
        url: `/api/search?k=5&with=${a}&without=${b}&notWeight=0.5`,
        ...upload,
      })
    ).json();
    expect(viaUpload.results.map((r: { id: number }) => r.id).filter((id: number) => id !== first)).toEqual(
      want.map((h) => h.id).slice(0, viaUpload.results.some((r: { id: number }) => r.id === first) ? 4 : 5),
    );
    for (const bad of ['with=1,,2', 'with=-1', 'without=x', 'notWeight=-1', `with=${'1,'.repeat(600)}1`])
      expect((await app.inject(`/api/similar/${first}?${bad}`)).statusCode, bad).toBe(400);
    const missing = await app.inject(`/api/similar/${first}?with=999999`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.message).toMatch(/item 999999 is not in the index/);
  });

  it('serves a duplicate report for review: groups, keepers, indexed copies joined to their items, thumbnails', async () => {
    const rel = (p: string) => p.slice(dir.length + 1);
    const report: DuplicateReport = {
      format: 'cbir-duplicates',
      version: 1,
      root: dir,
      method: 'phash',
      threshold: 10,
      rule: 'most pixels, then largest file, then most EXIF fields, then oldest',
      images: 8,
      groups: [
        {
          members: [
            { file: rel(paths[2]), width: 40, height: 30, bytes: 900, exifFields: 0, time: 1 },
            { file: rel(paths[0]), width: 20, height: 15, bytes: 300, exifFields: 0, time: 2 },
          ],
        },
        {
          members: [
            { file: rel(paths[1]), width: 40, height: 30, bytes: 900, exifFields: 3, time: 1 },
            { file: 'gone/moved-away.png', width: 40, height: 30, bytes: 900, exifFields: 0, time: 1 },
          ],
        },
      ],
    };
    expect((await app.inject('/api/info')).json().duplicates).toBeNull();
    expect((await app.inject('/api/duplicates')).json().error.code).toBe('NO_DUPLICATES');
    const reviewing = await serving({ duplicates: report, token: 'correct horse battery' });
    const auth = { authorization: 'Bearer correct horse battery' };
    const get = (url: string) => reviewing.inject({ method: 'GET', url, headers: auth });
    try {
      expect((await get('/api/info')).json().duplicates).toEqual({ groups: 2, method: 'phash' });
      const page = (await get('/api/duplicates')).json();
      expect(page).toMatchObject({ method: 'phash', threshold: 10, images: 8, size: 2, offset: 0 });
      const ids = [2, 0, 1].map((i) => index.idList().find((id) => index.metadata(id)!.path === paths[i]));
      expect(page.groups).toEqual([
        {
          group: 0,
          members: [
            { ...report.groups[0].members[0], keep: true, id: ids[0] },
            { ...report.groups[0].members[1], keep: false, id: ids[1] },
          ],
        },
        {
          group: 1,
          members: [
            { ...report.groups[1].members[0], keep: true, id: ids[2] },
            { ...report.groups[1].members[1], keep: false },
          ],
        },
      ]);
      expect(
        (await get('/api/duplicates?offset=1&limit=1')).json().groups.map((g: { group: number }) => g.group),
      ).toEqual([1]);
      const thumb = await get('/api/duplicates/0/1/thumb?size=64');
      expect(thumb.statusCode).toBe(200);
      expect(thumb.headers['content-type']).toBe('image/jpeg');
      expect((await sharp(thumb.rawPayload).metadata()).format).toBe('jpeg');
      const answers: [string, number, string][] = [
        ['/api/duplicates/1/1/thumb', 404, 'NO_IMAGE'],
        ['/api/duplicates/2/0/thumb', 404, 'NOT_FOUND'],
        ['/api/duplicates/0/2/thumb', 404, 'NOT_FOUND'],
        ['/api/duplicates/0/-1/thumb', 400, 'INVALID_REQUEST'],
        ['/api/duplicates?limit=0', 400, 'INVALID_REQUEST'],
        ['/api/duplicates?path=/etc/passwd', 400, 'INVALID_REQUEST'],
      ];
      for (const [url, status, code] of answers) {
        const res = await get(url);
        expect([url, res.statusCode, res.json().error.code]).toEqual([url, status, code]);
      }
      expect((await reviewing.inject('/api/duplicates')).statusCode).toBe(401);
      expect((await reviewing.inject('/api/duplicates/0/0/thumb')).statusCode).toBe(401);
    } finally {
      await reviewing.close();
    }
  });

  it('a burst of uploads waits in a bounded queue; beyond it the server answers BUSY at once', async () => {
    const gates: (() => void)[] = [];
    const slow: QueryEmbedder = {
      description: 'gated',
      dim: index.dim,
      embed: () => Promise.reject(new Error('not used')),
      embedMany: (images) =>
        new Promise((res) =>
          gates.push(() => res(images.map(() => ({ status: 'fulfilled', value: index.vector(0)! })))),
        ),
      dispose: () => undefined,
    };
    // maxQueue counts every upload held: the one embedding and the one waiting.
    const busy = await serving({ embedder: slow, maxQueue: 2 });
    try {
      const bytes = await readFile(paths[0]);
      const send = () =>
        busy.inject({
          method: 'POST',
          url: '/api/search?k=1',
          payload: bytes,
          headers: { 'content-type': 'image/jpeg' },
        });
      const first = send();
      const second = send();
      await expect.poll(() => gates.length).toBe(1); // the first is embedding, the second waits
      const third = await send();
      expect(third.statusCode).toBe(503);
      expect(third.json().error.code).toBe('BUSY');
      gates[0]();
      await expect.poll(() => gates.length).toBe(2);
      gates[1]();
      expect((await first).statusCode).toBe(200);
      expect((await second).json().results[0].id).toBe(0);
    } finally {
      await busy.close();
    }
  });

  it('closing drains a request in flight over a real socket', async () => {
    let release!: () => void;
    let started!: () => void;
    const inFlight = new Promise<void>((res) => (started = res));
    const gated: QueryEmbedder = {
      description: 'gated',
      dim: index.dim,
      embed: () => Promise.reject(new Error('not used')),
      embedMany: () => (
        started(),
        new Promise((res) => (release = () => res([{ status: 'fulfilled', value: index.vector(5)! }])))
      ),
      dispose: () => undefined,
    };
    const server = await serving({ embedder: gated });
    const address = await server.listen({ port: 0, host: '127.0.0.1' });
    const response = fetch(`${address}/api/search?k=1`, {
      method: 'POST',
      body: await readFile(paths[5]),
      headers: { 'content-type': 'image/jpeg' },
    });
    await inFlight;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    release();
    const res = await response;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: { id: number }[] }).results[0].id).toBe(5);
    await closing;
    expect(closed).toBe(true);
  });

  it('leaves no tensor behind, uploads and dispose included', async () => {
    const bytes = await readFile(paths[1]);
    const e = await queryEmbedder();
    const before = tf.memory().numTensors;
    const server = await serving({ embedder: e });
    for (let i = 0; i < 3; i++)
      await server.inject({
        method: 'POST',
        url: '/api/search?k=2',
        payload: bytes,
        headers: { 'content-type': 'image/jpeg' },
      });
    await server.close();
    expect(tf.memory().numTensors).toBe(before);
    e.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it('serves a LanceDB table the same way', async () => {
    const uri = await mkdtemp(join(tmpdir(), 'cbir-serve-lance-'));
    const lance = await LanceIndex.create(uri, index.dim, { metric: 'euclidean' });
    const ids = index.idList();
    const data = new Float32Array(ids.length * index.dim);
    ids.forEach((id, i) => data.set(index.vector(id)!, i * index.dim));
    await lance.add(
      { data, rows: ids.length, cols: index.dim },
      ids,
      ids.map((id) => index.metadata(id)!),
    );
    const server = await serving({ over: lance });
    try {
      const res = (await server.inject('/api/similar/2?k=4')).json();
      const expected = await oracle(index, index.vector(2)!, 4, 2);
      expect(res.results.map((r: { id: number }) => r.id)).toEqual(expected.map((e) => e.id));
      expect((await server.inject('/api/info')).json().labels).toEqual(['blue', 'green', 'red']);
    } finally {
      await server.close();
      await lance.close();
      await rm(uri, { recursive: true });
    }
  });
});

describe('SearchBatcher', () => {
  it('runs the queries of one turn as one batched search per depth, each row what a lone search returns', async () => {
    const index = createIndex('exact', 8);
    const data = Float32Array.from({ length: 40 * 8 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    index.add({ data, rows: 40, cols: 8 });
    const calls: number[] = [];
    const counting = new Proxy(index, {
      get: (t, p) =>
        p === 'search'
          ? (q: { rows: number }, k: number) => (calls.push(q.rows), t.search(q as never, k))
          : Reflect.get(t, p),
    });
    const batcher = new SearchBatcher(new Retriever(counting));
    const rows = await Promise.all(
      Array.from({ length: 12 }, (_, q) => batcher.search(index.vector(q)!, q % 2 ? 5 : 7)),
    );
    expect(calls.sort()).toEqual([6, 6]);
    rows.forEach((row, q) => {
      const lone = index.search({ data: index.vector(q)!, rows: 1, cols: 8 }, q % 2 ? 5 : 7);
      expect(Array.from(row.ids)).toEqual(Array.from(lone.ids));
      expect(Array.from(row.distances)).toEqual(Array.from(lone.distances));
    });
  });
});

describe('BatchQueue', () => {
  it('runs the first item at once, batches those that wait (up to maxBatch), refuses beyond maxQueue, settles each alone', async () => {
    const gates: (() => void)[] = [];
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>(
      (items) => {
        batches.push(items);
        return new Promise((res) =>
          gates.push(() =>
            res(
              items.map((x) =>
                x === 13
                  ? { status: 'rejected', reason: new Error('thirteen') }
                  : { status: 'fulfilled', value: x * 10 },
              ),
            ),
          ),
        );
      },
      3,
      4,
    );
    const first = queue.submit(1)!;
    const waiting = [2, 13, 4, 5].map((x) => queue.submit(x)!);
    expect(queue.submit(6)).toBeUndefined();
    expect(queue.load).toEqual({ running: true, waiting: 4 });
    expect(batches).toEqual([[1]]);
    gates[0]();
    expect(await first).toMatchObject({ value: 10, batch: 1 });
    await expect.poll(() => batches.length).toBe(2);
    expect(batches[1]).toEqual([2, 13, 4]);
    gates[1]();
    await expect.poll(() => batches.length).toBe(3);
    gates[2]();
    const settled = await Promise.allSettled(waiting);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value.value : (r.reason as Error).message))).toEqual([
      20,
      'thirteen',
      40,
      50,
    ]);
    expect(settled[0].status === 'fulfilled' && settled[0].value.batch).toBe(3);
    expect(queue.load).toEqual({ running: false, waiting: 0 });
    const failing = new BatchQueue<number, number>(() => Promise.reject(new Error('boom')), 2, 2);
    await expect(failing.submit(1)).rejects.toThrow('boom');
    expect(failing.load).toEqual({ running: false, waiting: 0 });
  });
});
