// `pnpm bench:serve`: a load test of `cbir serve` on loopback, bounded in count and time. The built CLI serves an exact
// index of 100,000 x 256 clustered vectors whose queries go through a real ConvAutoencoderV2 at 32 px (its latent is
// 256-d): autocannon sends `GET /api/similar/:id` (seeded random ids) and `POST /api/search` image uploads (multipart,
// as the page sends them). Prints QPS and p50/p99 latency, and the server's resident memory after a warm-up, after
// 10,000 similar requests, after the uploads and after 10,000 more similar requests. The named peer is the same index
// called directly in this process (no HTTP), one query at a time: the ratio is what the service keeps of it.
//
// Fails (exit 1) if any request fails or answers other than 200, or the memory grows by more than --max-growth-mb
// between the last two readings (both after warm-up). Usage: pnpm bench:serve [--n 100000] [--d 256] [--requests
// 10000] [--uploads 2000] [--connections 8]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Request as LoadRequest } from 'autocannon';
import {
  ConvAutoencoderV2,
  createIndex,
  encodePng,
  initNodeBackend,
  loadIndex,
  modelFingerprint,
  Retriever,
  saveRetriever,
  saveModel,
} from 'cbir-node';
import { clustered } from './synthetic.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    d: { type: 'string', default: '256' },
    requests: { type: 'string', default: '10000' },
    uploads: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '8' },
    'max-growth-mb': { type: 'string', default: '48' },
  },
});
const n = Number(values.n);
const requests = Number(values.requests);
const uploads = Number(values.uploads);
const connections = Number(values.connections);
const root = fileURLToPath(new URL('../', import.meta.url));
// Loaded with require, as bench/scale.ts loads usearch: vite-node does not resolve the bench's own dependencies.
const autocannon = createRequire(import.meta.url)('autocannon') as typeof import('autocannon');
const cli = join(root, 'packages/cli/dist/main.js');

/** The server's resident set, from /proc (Linux). */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** A seeded stream of ids (the same requests every run). */
function ids(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % n;
}

function multipart(bytes: Buffer): { body: Buffer; type: string } {
  const boundary = 'cbirbench7d1c';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="q.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  return {
    body: Buffer.concat([head, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Load {
  qps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function load(url: string, amount: number, request: LoadRequest): Promise<Load> {
  const r = await autocannon({ url, amount, connections, timeout: 30, requests: [request] });
  return {
    qps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    total: r.requests.total,
  };
}

async function main(): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'cbir-bench-serve-'));
  try {
    await initNodeBackend({ prefer: ['wasm'] });
    const model = new ConvAutoencoderV2({ inputSize: 32, seed: 0 });
    await saveModel(model, join(dir, 'model'));
    const d = model.latentDim;
    if (d !== Number(values.d))
      throw new Error(`ConvAutoencoderV2 at 32 px makes ${d}-d vectors; --d ${values.d} is not supported`);
    const index = createIndex('exact', d);
    const x = clustered(n, d, 7);
    index.add(
      x,
      undefined,
      Array.from({ length: n }, (_, i) => ({ label: `class-${i % 10}` })),
    );
    const pipeline = {
      architecture: model.architecture.name,
      inputSize: 32,
      model: modelFingerprint(model),
      reducer: { kind: 'none' as const, latentShape: [...model.latentShape] as [number, number, number], dim: d },
    };
    model.dispose();
    await saveRetriever(new Retriever(index, { pipeline }), join(dir, 'bench.cbirindex'));

    // The peer: the same file's index, called directly, one query at a time (k = 10, itself excluded as the API does).
    const direct = await loadIndex(join(dir, 'bench.cbirindex'));
    const next = ids(1);
    const t0 = performance.now();
    const directQueries = 2000;
    for (let q = 0; q < directQueries; q++) direct.search({ data: direct.vector(next())!, rows: 1, cols: d }, 11);
    const directQps = directQueries / ((performance.now() - t0) / 1000);

    const server = spawn(
      process.execPath,
      [cli, 'serve', '--index', join(dir, 'bench.cbirindex'), '--model', join(dir, 'model'), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    server.stderr.on('data', (b) => (log += b));
    const base = await new Promise<string>((resolve, reject) => {
      server.stdout.on('data', (b) => {
        log += b;
        const m = /listening on (http:\/\/[^/\s]+)\//.exec(log);
        if (m) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`cbir serve exited ${code}:\n${log}`)));
    });
    const watchdog = setTimeout(() => {
      console.error('bench:serve: over 15 minutes; stopping');
      server.kill('SIGKILL');
      process.exit(1);
    }, 15 * 60_000);
    try {
      const similarIds = ids(2);
      const similar: LoadRequest = {
        method: 'GET',
        setupRequest: (req) => ({ ...req, path: `/api/similar/${similarIds()}?k=10` }),
      };
      const pictures = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const data = Uint8Array.from(
            { length: 96 * 72 * 3 },
            (_, j) => ((j % 3) * 97 + i * 31 + ((j / 3) % 96) * (i + 1)) & 255,
          );
          return Buffer.from(await encodePng({ data, width: 96, height: 72, channels: 3 }));
        }),
      );
      const bodies = pictures.map(multipart);
      let u = 0;
      const upload: LoadRequest = {
        method: 'POST',
        path: '/api/search?k=10',
        setupRequest: (req) => {
          const { body, type } = bodies[u++ % bodies.length];
          return { ...req, body, headers: { 'content-type': type } };
        },
      };
      const rss0 = await rssMb(server.pid!);
      await load(base, 500, similar); // warm-up: the JIT, the SIMD threads, the encoder
      await load(base, 100, upload);
      const rss1 = await rssMb(server.pid!);
      const s1 = await load(base, requests, similar);
      const rss2 = await rssMb(server.pid!);
      const up = await load(base, uploads, upload);
      const rss3 = await rssMb(server.pid!);
      const s2 = await load(base, requests, similar);
      const rss4 = await rssMb(server.pid!);

      const row = (name: string, r: Load) =>
        `${name.padEnd(36)} ${r.total.toString().padStart(6)} ${r.qps.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(7)} ${r.p99.toFixed(1).padStart(7)}  ${r.errors + r.non2xx}`;
      console.log(
        `cbir serve on loopback: exact index ${n.toLocaleString('en')} x ${d}, queries by ConvAutoencoderV2 at 32 px, ${connections} connections`,
      );
      console.log(
        `${'route'.padEnd(36)} ${'reqs'.padStart(6)} ${'QPS'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)}  failed`,
      );
      console.log(row('GET /api/similar/:id?k=10', s1));
      console.log(row('POST /api/search (multipart PNG)', up));
      console.log(row('GET /api/similar/:id?k=10 (again)', s2));
      console.log(
        `peer: the same index called directly, one query at a time: ${directQps.toFixed(0)} QPS; the service keeps ${(s1.qps / directQps).toFixed(2)}x of it`,
      );
      console.log(
        `server RSS (MB): start ${rss0.toFixed(0)}, after warm-up ${rss1.toFixed(0)}, after ${requests} similar ${rss2.toFixed(0)}, after ${uploads} uploads ${rss3.toFixed(0)}, after ${requests} more similar ${rss4.toFixed(0)} (the last ${requests}: ${rss4 - rss3 >= 0 ? '+' : ''}${(rss4 - rss3).toFixed(1)} MB)`,
      );
      const failed = [s1, up, s2].reduce((a, r) => a + r.errors + r.non2xx, 0);
      const growth = rss4 - rss3;
      const limit = Number(values['max-growth-mb']);
      if (failed > 0) console.error(`bench:serve: ${failed} requests failed or answered other than 200`);
      if (growth > limit)
        console.error(
          `bench:serve: the server grew by ${growth.toFixed(1)} MB over ${requests} requests after warm-up (limit ${limit} MB)`,
        );
      server.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => server.once('exit', resolve));
      if (code !== 0) console.error(`bench:serve: cbir serve exited ${code} on SIGINT:\n${log}`);
      return failed > 0 || growth > limit || code !== 0 ? 1 : 0;
    } finally {
      clearTimeout(watchdog);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
