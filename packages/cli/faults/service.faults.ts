// pnpm test:faults, the service: `cbir serve` (the built CLI) probed as a hostile client would, over raw sockets on
// loopback. Every malformed request must get a 4xx with a code within a bounded time, no route under /api/ may answer
// without the token however its path is written, stalled clients are closed, memory stays bounded by --queue, and
// Ctrl-C exits 0 within the grace period whatever the sockets are doing.
//
// Outcomes (see tally.ts): "crash" a 5xx for a client's mistake or a wrong status; "hang" no answer (or no close)
// within the bound; "silent" a request served that should have been refused (a way past the token included).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { crc32 } from 'cbir-core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, root } from './cli.js';
import { Tally } from './tally.js';

const TOKEN = 'faults-token-1234';
/** A request with no answer after this long is a hang. */
const ANSWER_MS = 10_000;
/** The server's --request-timeout in the suite, and how long past it a stalled socket may stay open. */
const REQUEST_TIMEOUT_S = 3;
const CLOSE_MS = 15_000;
const GRACE_S = 2;

const tally = new Tally();
let work: string;
let index: string;
let png: Buffer;

interface Served {
  port: number;
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Starts `cbir serve` on a free port and resolves once it listens (or rejects with what it printed). */
function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { cwd: root });
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.on('close', (code, signal) => done({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m) resolve({ port: Number(m[1]), child, stderr: () => err, exited });
    });
    child.stderr.on('data', (d) => (err += d));
    void exited.then(({ code }) => reject(new Error(`cbir serve exited ${code} before listening: ${err}`)));
  });
}

interface Answer {
  status: number;
  body: string;
  ms: number;
  /** The server closed the connection within the wait. */
  closed: boolean;
}

/** Writes `payload` (in pieces, with pauses, when given an array) and reads until the server closes or `waitMs`. */
function raw(
  port: number,
  payload: string | Buffer | (string | Buffer | number)[],
  waitMs = ANSWER_MS,
  untilAnswer = true,
): Promise<Answer> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n'), ms: performance.now() - t0, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => {
      chunks.push(d);
      if (untilAnswer && answered(Buffer.concat(chunks), payload)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    void (async () => {
      for (const piece of Array.isArray(payload) ? payload : [payload]) {
        if (done) return;
        if (typeof piece === 'number') await new Promise((r) => setTimeout(r, piece));
        else socket.write(piece);
      }
    })();
  });
}

/** Whether `got` holds a whole response (headers, and the body its Content-Length names; none for HEAD). */
function answered(got: Buffer, payload: string | Buffer | (string | Buffer | number)[]): boolean {
  const end = got.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const first = Array.isArray(payload) ? payload[0] : payload;
  if (String(first).startsWith('HEAD ')) return true;
  const length = /\r\ncontent-length: *(\d+)/i.exec(got.subarray(0, end).toString('latin1'))?.[1];
  return length !== undefined && got.length - end - 4 >= Number(length);
}

const request = (method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer) =>
  Buffer.concat([
    Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n`,
    ),
    body ?? Buffer.alloc(0),
  ]);
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** Counts an answer that must be a refusal with one of `want` statuses (and the API's JSON error shape). */
function expectRefusal(group: string, what: string, a: Answer, want: number[]): void {
  const coded = /"error":\{"code":"[A-Z_]+"/.test(a.body) || a.status === 0;
  const outcome =
    a.status === 0 ? 'hang' : a.status < 400 ? 'silent' : want.includes(a.status) && coded ? 'clear' : 'crash';
  tally.count(group, outcome, `${what}: ${a.status || 'no answer'} ${a.body.slice(0, 160)}`);
}

/** A PNG of width x height whose rows are all grey: a few hundred KB however tall (zlib compresses the zeros). */
function stripPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.alloc(1 + 3 * width, 0x80);
  row[0] = 0;
  const rows = Buffer.alloc(row.length * Math.min(height, 1_000_000));
  for (let o = 0; o < rows.length; o += row.length) row.copy(rows, o);
  // Tall strips repeat a million-row block: the IDAT stays small, the header claims every row.
  const blocks = Math.ceil(height / 1_000_000);
  const idat = deflateSync(Buffer.concat(Array.from({ length: blocks }, () => rows)).subarray(0, row.length * height), {
    level: 9,
  });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A multipart body, with the boundary, line ends and parts given. */
function form(
  boundary: string,
  parts: { headers: string[]; body: Buffer }[],
  opts: { eol?: string; close?: boolean } = {},
) {
  const eol = opts.eol ?? '\r\n';
  return Buffer.concat([
    ...parts.flatMap((p) => [
      Buffer.from(`--${boundary}${eol}${p.headers.join(eol)}${eol}${eol}`),
      p.body,
      Buffer.from(eol),
    ]),
    Buffer.from(opts.close === false ? '' : `--${boundary}--${eol}`),
  ]);
}
const filePart = (name = 'image', filename = 'q.png') => ({
  headers: [`Content-Disposition: form-data; name="${name}"; filename="${filename}"`, 'Content-Type: image/png'],
  body: png,
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cbir-faults-serve-'));
  const images = join(work, 'images');
  for (const [c, colour] of Object.entries({ red: '#d33', green: '#3c4', blue: '#34d' })) {
    await mkdir(join(images, c), { recursive: true });
    for (let i = 0; i < 4; i++)
      await sharp({ create: { width: 40 + i, height: 36, channels: 3, background: colour } })
        .png()
        .toFile(join(images, c, `${i}.png`));
  }
  png = readFileSync(join(images, 'red', '0.png'));
  const feats = join(work, 'f.cbirfeat');
  index = join(work, 'x.cbirindex');
  for (const args of [
    ['features', '--data', images, '--kind', 'colorhist', '--out', feats],
    ['index', '--features', feats, '--type', 'exact', '--out', index],
  ]) {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
    const code = await new Promise((done) => child.on('close', done));
    if (code !== 0) throw new Error(`cbir ${args[0]} exited ${code}`);
  }
}, 120_000);

afterAll(async () => {
  console.log(tally.table('test:faults, the service'));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('cbir serve --token: a hostile client', () => {
  let server: Served;
  beforeAll(async () => {
    server = await serve([
      '--index',
      index,
      '--token',
      TOKEN,
      '--queue',
      '4',
      '--request-timeout',
      String(REQUEST_TIMEOUT_S),
      '--shutdown-grace',
      String(GRACE_S),
    ]);
  }, 60_000);
  afterAll(() => server?.child.kill('SIGKILL'));

  it('no route under /api/ answers without the token, however its path is written', async () => {
    const routes: [string, string, Buffer?][] = [
      ['GET', '/api/info'],
      ['GET', '/api/items'],
      ['GET', '/api/items/0'],
      ['GET', '/api/thumb/0'],
      ['GET', '/api/similar/0'],
      ['GET', '/api/clusters'],
      ['GET', '/api/clusters/0'],
      ['POST', '/api/search', png],
    ];
    const spellings = (path: string, port: number) => [
      path,
      path.replace('/api/', '/%61pi/'),
      path.replace('/api/', '/ap%69/'),
      path.replace('/api/', '/%2561pi/'), // double-encoded: another path, 404
      path.replace('/api/', '/API/'),
      path.replace('/api/', '//api/'),
      path.replace('/api/', '/./api/'),
      path.replace('/api/', '/x/../api/'),
      `${path}?`,
      `${path}#x`,
      `http://127.0.0.1:${server.port}${path}`,
      `HTTP://127.0.0.1:${port}${path.replace('/api/', '/%61pi/')}`,
    ];
    for (const [method, path, body] of routes) {
      for (const spelled of spellings(path, server.port)) {
        for (const m of method === 'GET' ? ['GET', 'HEAD'] : [method]) {
          const headers: Record<string, string> = body ? { 'Content-Type': 'image/png' } : {};
          for (const auth of [
            undefined,
            'Bearer wrong-token-00',
            'Basic ' + Buffer.from(`x:${TOKEN}`).toString('base64'),
          ]) {
            const a = await raw(
              server.port,
              request(m, spelled, auth ? { ...headers, Authorization: auth } : headers, body),
            );
            // HEAD has no body to carry the code: its status alone is checked.
            const refused = a.status === 401 || a.status === 404 || a.status === 400;
            tally.count(
              'token: no way past it',
              a.status === 0 ? 'hang' : refused ? 'clear' : a.status < 400 ? 'silent' : 'crash',
              `${m} ${spelled} (${auth ?? 'no token'}): ${a.status}`,
            );
          }
        }
      }
      // The right token opens every route (clusters: 404 NO_CLUSTERS, served without them).
      const ok = await raw(
        server.port,
        request(method, path, body ? { ...bearer, 'Content-Type': 'image/png' } : bearer, body),
      );
      const want = path.startsWith('/api/clusters') ? 404 : 200;
      tally.count(
        'token: the right one opens',
        ok.status === want ? 'clear' : 'crash',
        `${method} ${path}: ${ok.status}`,
      );
    }
    for (const [what, path] of [
      ['twice, right and right', `/api/info?token=${TOKEN}&token=${TOKEN}`],
      ['twice, wrong and right', `/api/info?token=wrong-token-00&token=${TOKEN}`],
      ['twice, as token[]', `/api/info?token[]=${TOKEN}&token[]=${TOKEN}`],
      ['empty', '/api/info?token='],
    ])
      expectRefusal('token: malformed', what, await raw(server.port, request('GET', path)), [400, 401]);
    // The page and the health check stay public.
    for (const path of ['/', '/app.js', '/style.css', '/healthz']) {
      const a = await raw(server.port, request('GET', path));
      tally.count('token: public routes', a.status === 200 ? 'clear' : 'crash', `${path}: ${a.status}`);
    }
    expect(tally.problemsOf('token')).toEqual([]);
  }, 300_000);

  it('hostile query values and request lines: 4xx with a code', async () => {
    for (const k of [
      'Infinity',
      '-Infinity',
      '1e400',
      '1e3',
      '101',
      '0',
      '-1',
      '1.5',
      'NaN',
      '',
      'abc',
      '0x10',
      '1,2',
      '+5',
      ' 5',
      '05e0',
    ])
      expectRefusal(
        'query: k',
        `k=${k}`,
        await raw(server.port, request('GET', `/api/similar/0?k=${k}`, bearer)),
        [400],
      );
    for (const id of ['-1', '1e400', 'Infinity', '99999999999999999999', '1.5', 'x'])
      expectRefusal(
        'query: ids',
        `/api/items/${id}`,
        await raw(server.port, request('GET', `/api/items/${id}`, bearer)),
        [400, 404],
      );
    for (const q of ['offset=1e400', 'limit=Infinity', 'offset=-1', 'size=1e400', 'unknown=1'])
      expectRefusal('query: other', q, await raw(server.port, request('GET', `/api/items?${q}`, bearer)), [400]);
    const many = (n: number) =>
      Object.fromEntries([...Array.from({ length: n }, (_, i) => [`X-H${i}`, '1']), ...Object.entries(bearer)]);
    expectRefusal(
      'request: headers',
      '1,000 headers',
      await raw(server.port, request('GET', '/api/info', many(1000))),
      [431],
    );
    expectRefusal(
      'request: headers',
      '3,000 headers',
      await raw(server.port, request('GET', '/api/info', many(3000))),
      [431],
    );
    expectRefusal(
      'request: line',
      'HTTP/0.9 style',
      await raw(server.port, `GET /api/info?token=${TOKEN}\r\n\r\n`),
      [400, 505],
    );
    expectRefusal('request: line', 'garbage', await raw(server.port, 'HELLO\r\n\r\n'), [400]);
    expectRefusal(
      'request: line',
      'HTTP/2.0',
      await raw(server.port, `GET /api/info?token=${TOKEN} HTTP/2.0\r\nHost: x\r\n\r\n`),
      [400, 505],
    );
    expect(tally.problemsOf('query').concat(tally.problemsOf('request'))).toEqual([]);
  }, 120_000);

  it('malformed uploads: 4xx with a code, quickly', async () => {
    const B = 'cbirFaultBoundary';
    const mp = (ct: string, body: Buffer) => request('POST', '/api/search', { ...bearer, 'Content-Type': ct }, body);
    const good = form(B, [filePart()]);
    const cases: [string, Buffer, number[]][] = [
      ['no boundary', mp('multipart/form-data', good), [400]],
      ['empty boundary', mp('multipart/form-data; boundary=', good), [400]],
      ['boundary that does not match', mp('multipart/form-data; boundary=Other', good), [400]],
      ['no closing boundary', mp(`multipart/form-data; boundary=${B}`, form(B, [filePart()], { close: false })), [400]],
      ['truncated mid-file', mp(`multipart/form-data; boundary=${B}`, good.subarray(0, 150)), [400]],
      ['LF-only line ends', mp(`multipart/form-data; boundary=${B}`, form(B, [filePart()], { eol: '\n' })), [400]],
      ['two files', mp(`multipart/form-data; boundary=${B}`, form(B, [filePart(), filePart()])), [400]],
      [
        'a 100 KB file name',
        mp(`multipart/form-data; boundary=${B}`, form(B, [filePart('image', 'n'.repeat(100_000))])),
        [400, 413, 431],
      ],
      ['the file in another field', mp(`multipart/form-data; boundary=${B}`, form(B, [filePart('photo')])), [400]],
      ['no file at all', mp(`multipart/form-data; boundary=${B}`, form(B, [])), [400]],
      [
        'a part without Content-Disposition',
        mp(`multipart/form-data; boundary=${B}`, form(B, [{ headers: ['Content-Type: image/png'], body: png }])),
        [400],
      ],
      [
        'a part without Content-Disposition, no closing boundary',
        mp(
          `multipart/form-data; boundary=${B}`,
          form(B, [{ headers: ['Content-Type: image/png'], body: png }], { close: false }),
        ),
        [400],
      ],
      [
        'not an image',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, Buffer.from('not a png')),
        [415],
      ],
      [
        'empty body',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, Buffer.alloc(0)),
        [400],
      ],
      [
        'JSON',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'application/json' }, Buffer.from('{}')),
        [400, 415],
      ],
      [
        '1 x 39,000,000 PNG',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, stripPng(1, 39_000_000)),
        [400],
      ],
      [
        '39,000,000 x 1 PNG',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, stripPng(39_000_000, 1)),
        [400],
      ],
      [
        '10,000 x 10,000 PNG',
        request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, stripPng(10_000, 10_000)),
        [413],
      ],
      [
        'Content-Length past the limit',
        Buffer.from(
          `POST /api/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: image/png\r\nContent-Length: 999999999\r\n\r\n`,
        ),
        [413],
      ],
    ];
    for (const [what, payload, want] of cases) {
      // Keep-alive too: an answer must come even when the connection is not closed by the client.
      expectRefusal('upload: malformed', what, await raw(server.port, payload), want);
      expectRefusal(
        'upload: malformed, keep-alive',
        what,
        await raw(server.port, Buffer.from(payload.toString('latin1').replace('Connection: close\r\n', ''), 'latin1')),
        want,
      );
    }
    expect(tally.problemsOf('upload')).toEqual([]);
  }, 300_000);

  it('stalled clients are closed: mid-headers, mid-body, idle keep-alive', async () => {
    const stalls: [string, (string | Buffer | number)[]][] = [
      ['mid-headers', ['GET /api/info HTTP/1.1\r\nHost: x\r\n']],
      ['mid-request-line', ['GET /api/in']],
      [
        'mid-body',
        [
          `POST /api/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`,
          png.subarray(0, 20),
        ],
      ],
      [
        'mid-multipart',
        [
          `POST /api/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n`,
          png.subarray(0, 20),
        ],
      ],
      [
        'dribbling headers',
        ['GET /api/info HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => [`X-${i}: 1\r\n`, 400]).flat()],
      ],
      ['idle keep-alive', [`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`]],
    ];
    await Promise.all(
      stalls.map(async ([what, pieces]) => {
        const a = await raw(server.port, pieces, CLOSE_MS + REQUEST_TIMEOUT_S * 1000, false);
        tally.count('stalled client', a.closed ? 'clear' : 'hang', `${what}: still open after ${Math.round(a.ms)} ms`);
      }),
    );
    expect(tally.problemsOf('stalled')).toEqual([]);
  }, 120_000);

  it('memory is bounded by --queue: 48 concurrent 8 MB bodies that are not images', async () => {
    const before = peakRss(server.child.pid!);
    const junk = Buffer.alloc(8 * 1024 * 1024, 7);
    const answers = await Promise.all(
      Array.from({ length: 48 }, () =>
        raw(server.port, request('POST', '/api/search', { ...bearer, 'Content-Type': 'image/png' }, junk), 60_000),
      ),
    );
    const statuses = answers.map((a) => a.status);
    const grew = peakRss(server.child.pid!) - before;
    // --queue 4 holds at most 4 bodies of 8 MB (and their copies); 48 held at once would be 384 MB and more.
    tally.count(
      'memory: concurrent bodies',
      grew < 200 * 1024 * 1024 ? 'clear' : 'crash',
      `peak RSS grew ${(grew / 2 ** 20).toFixed(0)} MB`,
    );
    tally.count(
      'memory: concurrent bodies',
      statuses.every((s) => s === 415 || s === 503 || s === 0) && statuses.includes(503) ? 'clear' : 'crash',
      `statuses ${[...new Set(statuses)].join(', ')}`,
    );
    const after = await raw(server.port, request('GET', '/healthz'));
    tally.count(
      'memory: concurrent bodies',
      after.status === 200 ? 'clear' : 'crash',
      `then /healthz: ${after.status}`,
    );
    expect(tally.problemsOf('memory')).toEqual([]);
  }, 120_000);
});

/** The process's peak resident memory (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

describe('cbir serve: Ctrl-C with hostile sockets open, and hostile files at start', () => {
  it('exits 0 within the grace period, whatever the sockets are doing', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const server = await serve(['--index', index, '--token', TOKEN, '--shutdown-grace', String(GRACE_S)]);
      const open = [
        raw(server.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`], 60_000, false), // idle keep-alive
        raw(server.port, ['GET /api/info HTTP/1.1\r\nHost: x\r\n'], 60_000, false), // half-sent headers
        raw(
          server.port,
          [
            `POST /api/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`,
            ...Array.from({ length: 200 }, () => [Buffer.alloc(10, 1), 200]).flat(),
          ],
          60_000,
          false,
        ), // a dribbling upload
        raw(
          server.port,
          [
            `POST /api/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 5000\r\n\r\n--B\r\nContent-Type: image/png\r\n\r\n`,
          ],
          60_000,
          false,
        ), // a multipart request never finished
      ];
      await new Promise((r) => setTimeout(r, 500));
      const t0 = performance.now();
      server.child.kill(signal);
      const bound = new Promise<'hang'>((r) => setTimeout(() => r('hang'), GRACE_S * 1000 + 15_000));
      const end = await Promise.race([server.exited, bound]);
      const ms = performance.now() - t0;
      if (end === 'hang') server.child.kill('SIGKILL');
      tally.count(
        'shutdown with sockets open',
        end === 'hang' ? 'hang' : end.code === 0 ? 'clear' : 'crash',
        `${signal}: ${end === 'hang' ? 'still running' : `exit ${end.code}`} after ${Math.round(ms)} ms; ${server.stderr().slice(-200)}`,
      );
      await Promise.all(open);
    }
    expect(tally.problemsOf('shutdown')).toEqual([]);
  }, 120_000);

  it('a clusters file that claims 100,000,000 clusters is refused at start', async () => {
    const csv = join(work, 'hostile-clusters.csv');
    const index0 = await readFile(index);
    expect(index0.length).toBeGreaterThan(0);
    const rows = ['id,label,k100000000'];
    const labels = ['blue', 'green', 'red'];
    for (let i = 0; i < 12; i++) rows.push(`${i % 4}.png,${labels[Math.floor(i / 4)]},${i}`);
    await writeFile(csv, rows.join('\n') + '\n');
    const child = spawn(process.execPath, [cli, 'serve', '--index', index, '--port', '0', '--clusters', csv], {
      cwd: root,
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await Promise.race([
      new Promise<number | null>((done) => child.on('close', done)),
      new Promise<'hang'>((r) => setTimeout(() => r('hang'), 30_000)),
    ]);
    if (code === 'hang') child.kill('SIGKILL');
    tally.count(
      'clusters file at start',
      code === 'hang' ? 'hang' : code === 1 && /k must be in 1\.\.12/.test(err) ? 'clear' : 'crash',
      `exit ${code}: ${err.slice(-200)}`,
    );
    expect(tally.problemsOf('clusters')).toEqual([]);
  }, 60_000);
});
