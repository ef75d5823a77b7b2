// bench:dedup: cbir's duplicate finders against imagededup and imagehash on transformed copies of real photos, in one
// run on one machine.
//   CBIR_WANG1K        the photos (default ../shared/datasets/wang1k); stops, saying so, when absent
//   CBIR_IMAGEDEDUP    a checkout of github:idealo/imagededup (its peer runs its own hashing and search code)
//   CBIR_IMAGEHASH     a checkout of github:JohannesBuchner/imagehash (bench/imagehash_peer.py runs it)
//   CBIR_IMAGEDEDUP_PEER  ../shared/reference/dedup/imagededup_peer.py by default
//   CBIR_DEDUP_SET     keep the transformed set in this folder (default: a temporary folder, removed)
// The set (bench/dedup-set.ts): 300 photos each with 7 copies (crop 80%, flips, 25-degree rotation, half size, JPEG
// quality 30, 20% brighter) and the 700 other photos as distractors; truth: every pair within a group.
// Per method: class-1 precision and recall over all pairs (imagededup's evaluate) at the method's default threshold,
// the best recall at precision >= 0.99 (and the threshold giving it), images per second, peak RSS.
// cbir runs as its CLI (`cbir dedup` for orb, `cbir hash` for the hashes), timed whole (Node's start included) with
// GNU time; the peers' images/s are their own timings of encoding (Python's start and imports excluded), on every
// core (imagededup's process pool; imagehash on a pool of as many processes), OPENBLAS_* unset for them.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  duplicatePrecisionRecall,
  evaluateDuplicates,
  hashDuplicates,
  recallAtPrecision,
  type DuplicateMap,
  type ScoredPair,
} from 'cbir-core';
import { makeTransformedSet } from './dedup-set.js';

const root = resolve(import.meta.dirname, '..');
const photos = resolve(process.env.CBIR_WANG1K ?? join(root, '../shared/datasets/wang1k'));
const imagededup = process.env.CBIR_IMAGEDEDUP;
const imagehash = process.env.CBIR_IMAGEHASH;
const peer = resolve(process.env.CBIR_IMAGEDEDUP_PEER ?? join(root, '../shared/reference/dedup/imagededup_peer.py'));
if (!existsSync(photos)) {
  console.log(`bench:dedup: no photos at ${photos}; set CBIR_WANG1K. Nothing measured.`);
  process.exit(0);
}
const cli = join(root, 'packages/cli/dist/main.js');
const pyEnv = { ...process.env };
delete pyEnv.OPENBLAS_CORETYPE;
delete pyEnv.OPENBLAS_L2_SIZE;

const dir = process.env.CBIR_DEDUP_SET
  ? resolve(process.env.CBIR_DEDUP_SET)
  : await mkdtemp(join(tmpdir(), 'cbir-dedup-'));
console.log(`bench:dedup: making the transformed set from ${photos} in ${dir}`);
const set = await makeTransformedSet(photos, dir);
const truth: DuplicateMap = set.truth;
const n = set.files.length;
const truePairs = Object.values(truth).reduce((s, v) => s + v.length, 0) / 2;
console.log(`${n} images, ${truePairs} duplicate pairs of ${(n * (n - 1)) / 2}`);

/** Runs a command under GNU time: its stdout, stderr, wall seconds and peak RSS in MB. */
function timed(cmd: string, args: string[], env = process.env) {
  const run = spawnSync('/usr/bin/time', ['-v', cmd, ...args], { env, maxBuffer: 1 << 28, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${run.status}): ${run.stderr.slice(-800)}`);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(run.stderr)!;
  const seconds = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(run.stderr)![1]) / 1024;
  return { stdout: run.stdout, stderr: run.stderr, seconds, rss };
}

/** The last JSON object line of a command's stdout. */
const lastJson = (s: string) =>
  JSON.parse(
    s
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!,
  );

/** Pairs at most `loose` bits apart, scored by minus the distance (so larger is better). */
function hashPairs(hashes: Record<string, string>, loose = 20): ScoredPair[] {
  const files = set.files;
  const missing = files.filter((f) => !(f in hashes));
  if (missing.length) throw new Error(`no hash for ${missing.length} files (${missing.slice(0, 3).join(', ')})`);
  return hashDuplicates(
    files.map((f) => hashes[f]),
    { maxDistance: loose },
  ).map(({ a, b, distance }) => ({ a: files[a], b: files[b], score: -distance }));
}

interface Row {
  name: string;
  pairs: ScoredPair[];
  /** Pairs at or above this score are what the method calls duplicates by default. */
  defaultScore: number;
  defaultLabel: string;
  show: (score: number) => string;
  imagesPerSecond: number;
  rss: number;
  note?: string;
}
const rows: Row[] = [];

function mapOf(pairs: readonly ScoredPair[], minScore: number): DuplicateMap {
  const m: Record<string, string[]> = Object.fromEntries(set.files.map((f) => [f, []]));
  for (const { a, b, score } of pairs)
    if (score >= minScore) {
      m[a].push(b);
      m[b].push(a);
    }
  return m;
}

// cbir's keypoints (the default), with a loose threshold so that the curve can be drawn.
{
  const r = timed('node', [cli, 'dedup', '--data', dir, '--threshold', '6', '--json', '--scores']);
  const byFile = lastJson(r.stdout) as Record<string, [string, number][]>;
  const pairs: ScoredPair[] = [];
  for (const [a, dups] of Object.entries(byFile)) for (const [b, score] of dups) if (a < b) pairs.push({ a, b, score });
  rows.push({
    name: 'cbir orb (default)',
    pairs,
    defaultScore: 20,
    defaultLabel: '20 keypoints',
    show: (s) => `${s} keypoints`,
    imagesPerSecond: n / r.seconds,
    rss: r.rss,
  });
}

// cbir's vector mode on colour-grid features (cbir features, then cbir dedup --method vector; colour grids were the
// best of cbir's hand-crafted blocks for copies: fused features are made for similar photos, not copies), timed
// together; a loose threshold so that the curve can be drawn.
{
  const features = join(dir, '..', `${basename(dir)}.colorgrid.cbirfeat`);
  const f = timed('node', [cli, 'features', '--data', dir, '--kind', 'colorgrid', '--out', features]);
  const r = timed('node', [
    cli,
    ...[
      'dedup',
      '--data',
      dir,
      '--method',
      'vector',
      '--features',
      features,
      '--threshold',
      '0.2',
      '--json',
      '--scores',
    ],
  ]);
  await rm(features, { force: true });
  const byFile = lastJson(r.stdout) as Record<string, [string, number][]>;
  const pairs: ScoredPair[] = [];
  for (const [a, dups] of Object.entries(byFile))
    for (const [b, distance] of dups) if (a < b) pairs.push({ a, b, score: -distance });
  rows.push({
    name: 'cbir vector (colorgrid features)',
    pairs,
    defaultScore: -0.03,
    defaultLabel: 'cosine 0.03',
    show: (s) => `cosine ${(-s).toFixed(4)}`,
    imagesPerSecond: n / (f.seconds + r.seconds),
    rss: Math.max(f.rss, r.rss),
  });
}

const peerHashes: Record<string, Record<string, string>> = {};
const IMAGEDEDUP = { phash: 'PHash', dhash: 'DHash', ahash: 'AHash', whash: 'WHash' } as const;
for (const method of ['phash', 'dhash', 'ahash', 'whash'] as const) {
  const r = timed('node', [cli, 'hash', '--data', dir, '--method', method, '--json']);
  const ours = lastJson(r.stdout) as Record<string, string>;
  let note: string | undefined;
  if (imagededup) {
    const p = timed('/usr/bin/python3', [peer, '--src', imagededup, 'hash', '--method', method, '--data', dir], pyEnv);
    peerHashes[method] = JSON.parse(p.stdout);
    const timing = JSON.parse(p.stderr.split('\n').find((l) => l.startsWith('{"images"'))!);
    const equal = set.files.filter((f) => peerHashes[method][f] === ours[f]).length;
    note = `${equal}/${n} hashes equal to imagededup's`;
    // imagededup's own search at its default threshold, for its row's default precision and recall.
    const d = timed('/usr/bin/python3', [peer, '--src', imagededup, 'dedup', '--method', method, '--data', dir], pyEnv);
    const theirs = JSON.parse(d.stdout) as Record<string, string[]>;
    const e = evaluateDuplicates(truth, theirs);
    rows.push({
      name: `imagededup ${IMAGEDEDUP[method]}`,
      pairs: hashPairs(peerHashes[method]),
      defaultScore: -10,
      defaultLabel: '10 bits',
      show: (s) => `${-s} bits`,
      imagesPerSecond: timing.images / timing.encode_s,
      rss: p.rss,
      note: `its find_duplicates: P ${e.precision[1].toFixed(3)}, R ${e.recall[1].toFixed(3)}`,
    });
  }
  rows.push({
    name: `cbir ${method}`,
    pairs: hashPairs(ours),
    defaultScore: -10,
    defaultLabel: '10 bits',
    show: (s) => `${-s} bits`,
    imagesPerSecond: n / r.seconds,
    rss: r.rss,
    note,
  });
}
if (imagehash) {
  const p = timed(
    '/usr/bin/python3',
    [join(root, 'bench/imagehash_peer.py'), '--src', imagehash, '--data', dir, '--method', 'phash'],
    pyEnv,
  );
  const timing = JSON.parse(p.stderr.split('\n').find((l) => l.startsWith('{"images"'))!);
  rows.push({
    name: 'imagehash phash',
    pairs: hashPairs(JSON.parse(p.stdout)),
    defaultScore: -10,
    defaultLabel: '10 bits (it has no default; as imagededup)',
    show: (s) => `${-s} bits`,
    imagesPerSecond: timing.images / timing.encode_s,
    rss: p.rss,
  });
}
if (!imagededup)
  console.log('(imagededup not measured: set CBIR_IMAGEDEDUP to a checkout of github:idealo/imagededup)');
if (!imagehash)
  console.log('(imagehash not measured: set CBIR_IMAGEHASH to a checkout of github:JohannesBuchner/imagehash)');

console.log(
  '\n| method | default threshold | precision | recall | recall at precision >= 0.99 (threshold) | images/s | peak RSS MB | notes |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const e = evaluateDuplicates(truth, mapOf(r.pairs, r.defaultScore));
  const at = recallAtPrecision(duplicatePrecisionRecall(truth, r.pairs), 0.99);
  console.log(
    `| ${r.name} | ${r.defaultLabel} | ${e.precision[1].toFixed(3)} | ${e.recall[1].toFixed(3)} | ${at ? `${at.recall.toFixed(3)} (${r.show(at.threshold)})` : '0 (never >= 0.99)'} | ${r.imagesPerSecond.toFixed(0)} | ${r.rss.toFixed(0)} | ${r.note ?? ''} |`,
  );
}
// Recall of the default by transform: which copies each method finds (pairs of an original and its copy).
console.log('\nrecall per transform (pairs original-copy, at the default threshold):');
const kinds = ['crop', 'hflip', 'vflip', 'rot25', 'half', 'jpeg30', 'bright'] as const;
console.log(`| method | ${kinds.join(' | ')} |\n|---|${kinds.map(() => '---').join('|')}|`);
for (const r of rows) {
  const found = new Set(r.pairs.filter((p) => p.score >= r.defaultScore).map((p) => `${p.a}\u0000${p.b}`));
  const cells = kinds.map((k) => {
    const copies = set.files.filter((f) => set.kind[f] === k);
    const hit = copies.filter((c) => {
      const o = c.replace(`-${k}.jpg`, '-original.jpg');
      return found.has(o < c ? `${o}\u0000${c}` : `${c}\u0000${o}`);
    }).length;
    return (hit / copies.length).toFixed(2);
  });
  console.log(`| ${r.name} | ${cells.join(' | ')} |`);
}
if (!process.env.CBIR_DEDUP_SET) await rm(dir, { recursive: true });
