// pnpm test:faults: hostile files, killed processes and a full disk, each outcome counted. Makes its own corpus at run
// time (generated images and files written by cbir itself, plus the committed notebook fixtures); nothing from ../shared.
//
// Outcomes: "clear error" is a CbirError (or, for the CLI, exit 1 with one line naming the file) or, for a format
// without a checksum whose mutation left it well-formed, a correct load; "crash" any other exception or exit code;
// "hang" a case over HANG_MS; "silent" a mutated file with a checksum that loaded anyway; "lost" an output set that is
// neither complete nor absent after a kill or a full disk, or a resumed run that ends elsewhere than an uninterrupted one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import {
  CbirError,
  ConvAutoencoder,
  CosineIndex,
  ExactEuclideanIndex,
  LSHIndex,
  arrayDataset,
  deserializeCheckpoint,
  deserializeFeatures,
  deserializeIndex,
  Retriever,
  deserializeReducer,
  exportTorchCheckpoint,
  exportTorchWeights,
  initNodeBackend,
  LanceIndex,
  loadModel,
  loadTorchWeights,
  modelFingerprint,
  modelFromFiles,
  modelToFiles,
  readFeatures,
  readLshashPickle,
  serializeCheckpoint,
  serializeFeatures,
  serializeReducer,
  trainAutoencoder,
  type EmbeddingPipeline,
  type RawImage,
} from 'cbir-node';
import { crc32, readNpz, writeNpy } from 'cbir-core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cbir, cli, killTimes, root } from './cli.js';
import { Tally, type Outcome } from './tally.js';

const fixtures = join(root, 'packages/core/test/fixtures');
const HANG_MS = 5000;

const tally = new Tally();
const problems = tally.problems;
const count = (group: string, outcome: Outcome, what: string) => tally.count(group, outcome, what);

interface Format {
  name: string;
  bytes: Uint8Array;
  load: (b: Uint8Array) => unknown;
  /** Whether every byte is covered by a checksum (a flipped bit anywhere must fail). */
  checked: boolean;
}

/** Small images of three colours, one per class folder, for the CLI cases. */
async function imageFolder(dir: string, perClass: number): Promise<string> {
  for (const [c, rgb] of Object.entries({ red: [220, 40, 40], green: [40, 200, 60], blue: [40, 60, 220] })) {
    await mkdir(join(dir, c), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="100%" height="100%" fill="rgb(${rgb.join(',')})"/>
        <circle cx="${10 + i}" cy="${20 - i}" r="${6 + (i % 5)}" fill="white"/></svg>`;
      await writeFile(join(dir, c, `${i}.png`), await sharp(Buffer.from(svg)).png().toBuffer());
    }
  }
  return dir;
}

const formats: Format[] = [];
let work: string;

beforeAll(async () => {
  await initNodeBackend({ prefer: ['wasm'] });
  work = await mkdtemp(join(tmpdir(), 'cbir-faults-'));
  // The corpus: one file of every format cbir reads, written by cbir (or numpy, for the notebook's pickles).
  const model = new ConvAutoencoder({ inputSize: 32, seed: 3 });
  const items = Array.from({ length: 12 }, (_, n) => ({
    id: `im${n}`,
    label: String(n % 3),
    image: {
      data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * 7 + n * 31) % 256),
      width: 32,
      height: 32,
      channels: 3,
    } as RawImage,
  }));
  const { checkpoint } = await trainAutoencoder(model, arrayDataset(32, items), { epochs: 1, batchSize: 4 });
  const x = { data: Float32Array.from({ length: 12 * 16 }, (_, i) => Math.sin(i)), rows: 12, cols: 16 };
  const pipeline: EmbeddingPipeline = {
    architecture: 'ConvAutoencoder',
    inputSize: 32,
    model: modelFingerprint(model),
    reducer: {
      kind: 'pca',
      latentShape: [...model.latentShape] as [number, number, number],
      dim: 16,
      mean: new Float32Array(model.latentDim),
      components: new Float32Array(16 * model.latentDim),
      l2: true,
    },
  };
  const ids = items.map((i) => i.id);
  const indexes = [
    new ExactEuclideanIndex(16),
    new CosineIndex(16),
    new LSHIndex({ inputDim: 16, hashSize: 6, numHashtables: 2 }),
  ];
  indexes.forEach((i) => i.add(x));
  const files = await modelToFiles(model);
  const npy = writeNpy(x.data, [12, 16]);
  const lshP = new Uint8Array(await readFile(join(fixtures, 'lshashpy3/lsh-10x1.p')));
  const v1 = () => new ConvAutoencoder({ inputSize: 32 });
  const torchLoad = (b: Uint8Array) => {
    const m = v1();
    try {
      return loadTorchWeights(m, b);
    } finally {
      m.dispose();
    }
  };
  formats.push(
    {
      name: 'features (CBIRFEAT)',
      bytes: serializeFeatures({ matrix: x, ids, labels: items.map((i) => i.label), pipeline }),
      load: (b) => deserializeFeatures(b),
      checked: true,
    },
    ...indexes.map((i) => ({
      name: `index ${i.constructor.name} with its pipeline (CBIRINDX)`,
      bytes: new Retriever(i, { pipeline }).serialize(),
      load: (b: Uint8Array) => Retriever.deserialize(b),
      checked: true,
    })),
    {
      name: 'reducer (CBIRREDU)',
      bytes: serializeReducer(pipeline.reducer),
      load: (b) => deserializeReducer(b),
      checked: true,
    },
    {
      name: 'checkpoint (CBIRCKPT)',
      bytes: serializeCheckpoint(checkpoint),
      load: (b) => deserializeCheckpoint(b),
      checked: true,
    },
    {
      name: 'model folder (model.json + weights.bin)',
      bytes: files.weights,
      checked: true,
      load: (b) => modelFromFiles(files.json, async () => b).then((m) => m.model.dispose()),
    },
    {
      name: 'model.json',
      bytes: files.json,
      checked: false,
      load: (b) => modelFromFiles(b, async () => files.weights).then((m) => m.model.dispose()),
    },
    {
      name: 'PyTorch checkpoint (.pt zip)',
      bytes: exportTorchCheckpoint(model, { layout: 'checkpoint' }),
      load: torchLoad,
      checked: true,
    },
    { name: 'safetensors', bytes: exportTorchWeights(model), load: torchLoad, checked: false },
    { name: '.npy', bytes: npy, load: (b) => readFeatures(b), checked: false },
    {
      name: '.npz (deflated)',
      bytes: zipSync({ 'arr_0.npy': npy, 'arr_1.npy': npy }, { level: 6 }),
      load: (b) => readNpz(b),
      checked: true,
    },
    {
      name: "the notebook's features.pkl",
      bytes: new Uint8Array(await readFile(join(fixtures, 'notebook/features-p4.pkl'))),
      load: (b) => readFeatures(b),
      checked: false,
    },
    { name: "the notebook's lsh.p", bytes: lshP, load: (b) => readLshashPickle(b), checked: false },
  );
  model.dispose();
}, 300_000);

afterAll(async () => {
  console.log(tally.table('test:faults'));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('files: truncated, bit-flipped and fuzzed', () => {
  it('every format: truncations at many points fail clearly', async () => {
    for (const f of formats) {
      const n = f.bytes.length;
      const cuts = [
        ...new Set(
          [0, 1, 4, 7, 8, 12, 16, 20, 24, 32, 64, n >> 3, n >> 2, n >> 1, n - 64, n - 5, n - 4, n - 1].filter(
            (c) => c >= 0 && c < n,
          ),
        ),
      ];
      for (const c of cuts)
        await attemptAsync(`${f.name}: truncated`, f.load, f.bytes.slice(0, c), true, `at ${c} of ${n}`);
    }
    expectClean('truncated');
  });

  it('formats with a checksum: a flipped bit anywhere fails; others: no crash', async () => {
    for (const f of formats) {
      const n = f.bytes.length;
      const offsets = [
        ...new Set([
          ...Array.from({ length: 48 }, (_, k) => Math.floor(((k + 0.5) / 48) * n)),
          0,
          3,
          8,
          9,
          12,
          13,
          16,
          17,
          n - 1,
          n - 3,
        ]),
      ].filter((o) => o < n);
      for (const [k, o] of offsets.entries()) {
        const b = f.bytes.slice();
        b[o] ^= 1 << (k % 8);
        await attemptAsync(`${f.name}: bit flips`, f.load, b, f.checked, `bit ${k % 8} of byte ${o}`);
      }
    }
    expectClean('bit flips');
  });

  it('fuzzed with fast-check (seeded, fixed budget): overwritten bytes and spliced lengths never crash or hang', async () => {
    for (const f of formats) {
      // fast-check draws the cases from a fixed seed: the same 150 mutations of each file on every run.
      const cases = fc.sample(
        fc.tuple(
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
          fc.boolean(),
        ),
        { seed: 20261205, numRuns: 150 },
      );
      for (const [edits, header] of cases) {
        const b = f.bytes.slice();
        // Half of the cases aim at the first 64 bytes, where lengths, versions and headers live.
        for (const [at, v] of edits) b[header ? at % Math.min(64, b.length) : at % b.length] = v;
        await attemptAsync(`${f.name}: fuzzed`, f.load, b, false, `edits ${JSON.stringify(edits)}`);
      }
    }
    expectClean('fuzzed');
  });
});

/** `attempt` for loaders that may return promises (model folders). */
async function attemptAsync(
  group: string,
  load: (b: Uint8Array) => unknown,
  bytes: Uint8Array,
  mustFail: boolean,
  what: string,
): Promise<void> {
  const t = performance.now();
  let outcome: Outcome;
  try {
    await load(bytes);
    outcome = mustFail ? 'silent' : 'clear';
  } catch (e) {
    outcome = e instanceof CbirError ? 'clear' : 'crash';
    if (outcome === 'crash') what += ` (${(e as Error)?.constructor?.name}: ${(e as Error)?.message?.slice(0, 120)})`;
  }
  if (performance.now() - t > HANG_MS) outcome = 'hang';
  count(group, outcome, what);
}

function expectClean(kind: string): void {
  const bad = problems.filter((p) => p.includes(`: ${kind}:`));
  expect(bad, bad.slice(0, 10).join('\n')).toEqual([]);
}

describe('processes killed at random moments, then resumed', () => {
  it('cbir train: SIGKILL, then --resume, ends with the weights of a run that was never stopped', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: test:faults runs \`pnpm build\` first.`);
    const data = await imageFolder(join(work, 'train-images'), 8);
    const args = (out: string) => [
      'train',
      '--data',
      data,
      '--arch',
      'v1',
      '--size',
      '32',
      '--epochs',
      '3',
      '--batch',
      '4',
      '--out',
      out,
      '--json',
    ];
    const whole = await cbir(args(join(work, 'train-whole')));
    expect(whole.code, whole.stderr).toBe(0);
    const want = deserializeCheckpoint(new Uint8Array(await readFile(join(work, 'train-whole', 'last.ckpt'))));
    const times = killTimes(7, 300, Math.max(600, whole.ms * 0.9));
    for (let k = 0; k < 3; k++) {
      const out = join(work, `train-killed-${k}`);
      let run = await cbir(args(out), times.next().value);
      // Whatever moment the kill came, the model folder holds a whole model or none.
      if (existsSync(join(out, 'model.json'))) {
        const whole = await loadModel(out).then(
          (m) => (m.model.dispose(), true),
          () => false,
        );
        count(
          'cbir train: killed, model folder',
          whole ? 'clear' : 'lost',
          `run ${k}: model.json names weights that do not load`,
        );
      }
      // Resume until it finishes; with no checkpoint yet (killed during start-up), start again, as a user would.
      for (let tries = 0; run.code !== 0 && tries < 5; tries++) {
        run = await cbir(
          existsSync(join(out, 'last.ckpt')) ? [...args(out), '--resume'] : args(out),
          tries < 1 ? times.next().value : undefined,
        );
      }
      const got =
        run.code === 0 ? deserializeCheckpoint(new Uint8Array(await readFile(join(out, 'last.ckpt')))) : undefined;
      const same =
        got !== undefined &&
        got.epoch === want.epoch &&
        got.params.every((p, i) => p.data.every((v, j) => v === want.params[i].data[j]));
      count(
        'cbir train: killed, resumed',
        same ? 'clear' : 'lost',
        `run ${k}: exit ${run.code}, ${run.stderr.split('\n').slice(-3).join(' ')}`,
      );
    }
    expect(problems.filter((p) => p.startsWith('cbir train'))).toEqual([]);
  }, 600_000);

  it('cbir embed and cbir index: SIGKILL leaves the output absent or complete, never half of it', async () => {
    const data = await imageFolder(join(work, 'embed-images'), 6);
    const model = join(work, 'embed-model');
    expect(
      (
        await cbir([
          'train',
          '--data',
          data,
          '--arch',
          'v1',
          '--size',
          '32',
          '--epochs',
          '1',
          '--batch',
          '4',
          '--out',
          model,
        ])
      ).code,
    ).toBe(0);
    const feats = join(work, 'whole.cbirfeat');
    const whole = await cbir(['embed', '--model', model, '--data', data, '--out', feats, '--threads', '1']);
    expect(whole.code, whole.stderr).toBe(0);
    const want = await readFile(feats);
    const times = killTimes(11, 50, whole.ms);
    for (let k = 0; k < 4; k++) {
      const out = join(work, `killed-${k}.cbirfeat`);
      await cbir(['embed', '--model', model, '--data', data, '--out', out, '--threads', '1'], times.next().value);
      const ok = !existsSync(out) || Buffer.compare(await readFile(out), want) === 0;
      count('cbir embed: killed', ok ? 'clear' : 'lost', `kill ${k}: a partial ${out}`);
      const idx = join(work, `killed-${k}.idx`);
      const started = await cbir(['index', '--features', feats, '--type', 'lsh', '--out', idx], times.next().value / 2);
      const complete =
        !existsSync(idx) ||
        (await readFile(idx)
          .then((b) => deserializeIndex(new Uint8Array(b)).size === 18)
          .catch(() => false));
      count('cbir index: killed', complete ? 'clear' : 'lost', `kill ${k}: exit ${started.code}, a partial ${idx}`);
    }
    expect(problems.filter((p) => p.includes('killed'))).toEqual([]);
  }, 600_000);
});

describe('cbir sync killed at random moments', () => {
  it('SIGKILL mid-sync, then a rerun: the index file and the LanceDB table equal a rebuild, nothing lost or held twice; cbir serve --watch too', async () => {
    const photos = await imageFolder(join(work, 'sync-photos'), 8);
    const feats = join(work, 'sync.cbirfeat');
    const built = await cbir([
      'features',
      '--data',
      photos,
      '--kind',
      'colorhist',
      '--norm',
      'hellinger',
      '--out',
      feats,
    ]);
    expect(built.code, built.stderr).toBe(0);
    const base = join(work, 'sync-base.idx');
    expect((await cbir(['index', '--features', feats, '--type', 'cosine', '--out', base])).code).toBe(0);
    const baseDb = join(work, 'sync-base-db');
    expect(
      (await cbir(['index', '--features', feats, '--engine', 'lancedb', '--uri', baseDb, '--metric', 'cosine'])).code,
    ).toBe(0);
    // The folder moves on: 12 new files, 3 with new pictures under old names, 3 deleted.
    const more = await imageFolder(join(work, 'sync-more'), 12);
    for (const c of ['red', 'green', 'blue']) {
      for (let i = 8; i < 12; i++) await cp(join(more, c, `${i}.png`), join(photos, c, `${i}.png`));
      await cp(join(more, c, '11.png'), join(photos, c, '0.png'));
      await rm(join(photos, c, '7.png'));
    }
    const rebuiltFeats = join(work, 'sync-rebuilt.cbirfeat');
    await cbir(['features', '--data', photos, '--kind', 'colorhist', '--norm', 'hellinger', '--out', rebuiltFeats]);
    const want = deserializeFeatures(new Uint8Array(await readFile(rebuiltFeats)));
    const wantByPath = new Map(want.paths!.map((p, i) => [p, i]));
    /** Whether `index` holds each file once, with the rebuilt vector and metadata, and nothing else. */
    const equalsRebuild = async (index: {
      idList(): number[] | Promise<number[]>;
      vector(id: number): Float32Array | undefined | Promise<Float32Array | undefined>;
      metadata(id: number): unknown;
    }): Promise<string> => {
      const seen = new Set<string>();
      for (const id of await index.idList()) {
        const m = (await index.metadata(id)) as { path: string };
        const row = wantByPath.get(m.path);
        if (row === undefined) return `holds ${m.path}, which the rebuild does not`;
        if (seen.has(m.path)) return `holds ${m.path} twice`;
        seen.add(m.path);
        const expected = { ...want.info![row], path: want.paths![row], label: want.labels[row] };
        const sorted = (o: object) => JSON.stringify(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
        if (sorted(m) !== sorted(expected)) return `${m.path}: metadata ${sorted(m)} is not the rebuild's`;
        const v = (await index.vector(id))!;
        const w = want.matrix.data.subarray(row * want.matrix.cols, (row + 1) * want.matrix.cols);
        const norm = Math.hypot(...w);
        if (w.some((x, j) => Math.abs(x / norm - v[j]) > 1e-5)) return `${m.path}: another vector`;
      }
      return seen.size === wantByPath.size ? '' : `holds ${seen.size} of the ${wantByPath.size} files`;
    };
    const args = (where: string[]) => ['sync', ...where, '--data', photos, '--batch', '2', '--save-every', '0'];
    const whole = await cbir(args(['--index', base, '--dry-run']));
    expect(whole.code, whole.stderr).toBe(0);
    const uninterrupted = join(work, 'sync-whole.idx');
    await cp(base, uninterrupted);
    const timing = await cbir(args(['--index', uninterrupted]));
    expect(timing.code, timing.stderr).toBe(0);
    expect(await equalsRebuild(deserializeIndex(new Uint8Array(await readFile(uninterrupted))))).toBe('');
    // Each kill lands 0 to 150 ms after the run's first write (its first checkpoint or commit): mid-sync.
    const times = killTimes(35, 0, 150);
    const versions = (db: string) => readdirSync(join(db, 'cbir.lance', '_versions')).length;
    let midway = 0;
    for (let k = 0; k < 4; k++) {
      const file = join(work, `sync-killed-${k}.idx`);
      await cp(base, file);
      const before = statSync(file).mtimeMs;
      const killed = await cbir(args(['--index', file]), {
        when: () => statSync(file).mtimeMs !== before,
        after: times.next().value,
      });
      if (killed.signal === 'SIGKILL') midway++;
      const rerun = await cbir(args(['--index', file]));
      const why =
        rerun.code !== 0
          ? `rerun exit ${rerun.code}: ${rerun.stderr.trim().split('\n').pop()}`
          : await equalsRebuild(deserializeIndex(new Uint8Array(await readFile(file))));
      count(
        'cbir sync (index file): killed',
        why ? 'lost' : 'clear',
        `kill ${k} (${killed.signal ?? killed.code}): ${why}`,
      );
      const db = join(work, `sync-killed-db-${k}`);
      await cp(baseDb, db, { recursive: true });
      const dbArgs = ['--engine', 'lancedb', '--uri', db];
      const committed = versions(db);
      const killedDb = await cbir(args(dbArgs), { when: () => versions(db) > committed, after: times.next().value });
      if (killedDb.signal === 'SIGKILL') midway++;
      const rerunDb = await cbir(args(dbArgs));
      let whyDb = rerunDb.code !== 0 ? `rerun exit ${rerunDb.code}: ${rerunDb.stderr.trim().split('\n').pop()}` : '';
      if (!whyDb) {
        const table = await LanceIndex.open(db);
        whyDb = await equalsRebuild(table);
        await table.close();
      }
      count(
        'cbir sync (LanceDB): killed',
        whyDb ? 'lost' : 'clear',
        `kill ${k} (${killedDb.signal ?? killedDb.code}): ${whyDb}`,
      );
    }
    // cbir serve --watch syncs at start, before it listens: killed in that sync, then started again, its file too
    // ends equal to a rebuild once it listens (the restart's first sync finishes the job).
    for (let k = 0; k < 2; k++) {
      const file = join(work, `watch-killed-${k}.idx`);
      await cp(base, file);
      const serveArgs = ['serve', '--index', file, '--port', '0', '--watch', photos];
      const before = statSync(file).mtimeMs;
      const killed = await cbir(serveArgs, {
        when: () => statSync(file).mtimeMs !== before,
        after: times.next().value,
      });
      if (killed.signal === 'SIGKILL') midway++;
      const again = await new Promise<string>((done) => {
        const child = spawn(process.execPath, [cli, ...serveArgs], { cwd: root });
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (/listening on/.test(out)) child.kill('SIGTERM');
        });
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => done(code === 0 ? '' : `restart exit ${code}: ${out.trim().split('\n').pop()}`));
      });
      const why = again || (await equalsRebuild(deserializeIndex(new Uint8Array(await readFile(file)))));
      count(
        'cbir serve --watch: killed',
        why ? 'lost' : 'clear',
        `kill ${k} (${killed.signal ?? killed.code}): ${why}`,
      );
    }
    expect(problems.filter((p) => p.includes('cbir sync') || p.includes('--watch'))).toEqual([]);
    expect(midway, 'runs killed before they finished').toBeGreaterThanOrEqual(5);
  }, 600_000);
});

describe('bad images in a folder', () => {
  it('empty, truncated, mislabelled, a pixel bomb, links that loop or go nowhere: reported and skipped; a folder of nothing but: one clear error', async () => {
    const good = await imageFolder(join(work, 'bad-images'), 3);
    const bad = join(good, 'red');
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } })
      .png()
      .toBuffer();
    const bomb = Buffer.from(png);
    // IHDR claims 100,000 x 100,000 pixels (its CRC fixed, so only the size is hostile).
    bomb.writeUInt32BE(100_000, 16);
    bomb.writeUInt32BE(100_000, 20);
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
    const files: [string, Uint8Array | string][] = [
      ['empty.jpg', ''],
      ['truncated.png', png.subarray(0, 40)],
      ['text.jpg', 'not an image at all'],
      ['bomb.png', bomb],
    ];
    for (const [name, bytes] of files) await writeFile(join(bad, name), bytes);
    await symlink(good, join(bad, 'loop'));
    await symlink(join(bad, 'nowhere.png'), join(bad, 'broken.png'));
    const model = join(work, 'bad-model');
    const trained = await cbir([
      'train',
      '--data',
      good,
      '--arch',
      'v1',
      '--size',
      '32',
      '--epochs',
      '1',
      '--batch',
      '4',
      '--out',
      model,
      '--json',
    ]);
    count(
      'bad images: train',
      trained.code === 0 ? 'clear' : 'crash',
      `exit ${trained.code}: ${trained.stderr.slice(-300)}`,
    );
    const out = join(work, 'bad.cbirfeat');
    const run = await cbir(['embed', '--model', model, '--data', good, '--out', out, '--threads', '1', '--json']);
    const done = JSON.parse(
      run.stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1) ?? '{}',
    );
    const reported =
      files.every(([name]) => run.stdout.includes(`red/${name}`) || run.stderr.includes(`red/${name}`)) &&
      /broken\.png \(broken symbolic link\)/.test(run.stderr) &&
      /loop \(link to a folder already walked/.test(run.stderr);
    count(
      'bad images: embed',
      run.code === 0 && done.rows === 9 && done.skipped === files.length && reported ? 'clear' : 'crash',
      `exit ${run.code}, ${JSON.stringify(done)}: ${run.stderr.slice(-400)}`,
    );
    const onlyBad = join(work, 'only-bad', 'x');
    await mkdir(onlyBad, { recursive: true });
    for (const [name, bytes] of files) await writeFile(join(onlyBad, name), bytes);
    const none = await cbir([
      'embed',
      '--model',
      model,
      '--data',
      join(work, 'only-bad'),
      '--out',
      join(work, 'none.cbirfeat'),
      '--threads',
      '1',
    ]);
    const lines = none.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('cbir '));
    count(
      'bad images: all bad',
      none.code === 1 &&
        lines.length === 1 &&
        /none of the 4 images could be decoded/.test(lines[0]) &&
        !existsSync(join(work, 'none.cbirfeat'))
        ? 'clear'
        : 'crash',
      `exit ${none.code}: ${none.stderr.slice(-300)}`,
    );
    expect(problems.filter((p) => p.startsWith('bad images'))).toEqual([]);
  }, 600_000);
});

describe('a full disk (a 64 KB tmpfs, where the runner may mount one)', () => {
  it('ENOSPC is one line naming the file, exit 1, and nothing half-written is left', async () => {
    const mnt = join(work, 'full');
    await mkdir(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    if (mounted.status !== 0) {
      console.log(
        `test:faults: ENOSPC skipped: cannot mount a tmpfs here (${String(mounted.stderr).trim() || 'not root'}).`,
      );
      return;
    }
    try {
      const features = join(work, 'big.npy');
      await writeFile(
        features,
        writeNpy(
          Float32Array.from({ length: 200 * 128 }, (_, i) => Math.cos(i)),
          [200, 128],
        ),
      );
      for (const type of ['exact', 'cosine', 'lsh']) {
        const target = join(mnt, `${type}.idx`);
        const run = await cbir(['index', '--features', features, '--type', type, '--out', target]);
        const lines = run.stderr.trim().split('\n');
        const clear = run.code === 1 && lines.length === 1 && /ENOSPC/.test(lines[0]) && lines[0].includes(target);
        count(
          'full disk',
          clear ? 'clear' : 'crash',
          `cbir index --type ${type}: exit ${run.code}: ${run.stderr.slice(0, 200)}`,
        );
        const left = await readdir(mnt);
        count('full disk: output set', left.length === 0 ? 'clear' : 'lost', `left behind: ${left.join(', ')}`);
      }
    } finally {
      spawnSync('umount', [mnt]);
    }
    expect(problems.filter((p) => p.startsWith('full disk'))).toEqual([]);
  }, 300_000);
});
