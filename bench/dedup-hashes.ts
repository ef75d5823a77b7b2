// bench:dedup-hashes: cbir's imageHash against imagededup's own hashing on real photos, in the same run.
//   CBIR_WANG1K         the photos (default ../shared/datasets/wang1k); stops, saying so, when absent
//   CBIR_IMAGEDEDUP     a checkout of github:idealo/imagededup (the search tool's `fetch`); required
//   CBIR_IMAGEDEDUP_PEER  ../shared/reference/dedup/imagededup_peer.py by default
// Prints, per method: the share of files whose hash equals imagededup's (exactly), the bits that differ where not,
// and images per second for both (cbir: decode with sharp + hash on one thread; imagededup: its encode_images with
// its process pool on every core, Pillow decoding, as it times itself; OPENBLAS_* unset for it).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { HASH_METHODS, hammingDistance, imageHash, sharpDecoder, type RawImage } from 'cbir-node';

const wang = resolve(process.env.CBIR_WANG1K ?? '../shared/datasets/wang1k');
const src = process.env.CBIR_IMAGEDEDUP;
const peer = resolve(process.env.CBIR_IMAGEDEDUP_PEER ?? '../shared/reference/dedup/imagededup_peer.py');
if (!existsSync(wang)) {
  console.log(`bench:dedup-hashes: no photos at ${wang}; set CBIR_WANG1K. Nothing measured.`);
  process.exit(0);
}
if (!src || !existsSync(join(src, 'imagededup'))) {
  console.log('bench:dedup-hashes: set CBIR_IMAGEDEDUP to a checkout of github:idealo/imagededup. Nothing measured.');
  process.exit(0);
}
const walk = (d: string): string[] =>
  readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
const files = walk(wang)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort();
const decoder = sharpDecoder({ orient: false });
const env = { ...process.env };
delete env.OPENBLAS_CORETYPE;
delete env.OPENBLAS_L2_SIZE;

console.log(`bench:dedup-hashes: ${files.length} photos of ${wang}`);
console.log(
  '| method | equal to imagededup | differing bits where not (max) | cbir img/s | imagededup img/s | ratio |',
);
console.log('|---|---|---|---|---|---|');
for (const method of HASH_METHODS) {
  const t0 = performance.now();
  const ours = new Map<string, string>();
  for (const f of files) ours.set(relative(wang, f), imageHash((await decoder.decode(f)) as RawImage, method));
  const cbirRate = files.length / ((performance.now() - t0) / 1000);
  // The peer's own timing of encode_images (printed on stderr), not the process's: Python's start and imagededup's
  // imports (torch, via its package) are not hashing.
  const run = spawnSync('/usr/bin/python3', [peer, '--src', src, 'hash', '--method', method, '--data', wang], {
    env,
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`imagededup_peer.py failed: ${String(run.stderr).slice(-500)}`);
  const timing = JSON.parse(String(run.stderr).trim().split('\n').pop()!) as { images: number; encode_s: number };
  const peerRate = timing.images / timing.encode_s;
  const theirs = JSON.parse(String(run.stdout)) as Record<string, string>;
  let equal = 0;
  let maxBits = 0;
  const diffs: number[] = [];
  for (const [f, h] of ours) {
    // imagededup's keys are file names relative to the folder it walked.
    const t = theirs[f] ?? theirs[f.split('/').pop()!];
    if (t === h) equal++;
    else if (t) {
      const d = hammingDistance(t, h);
      diffs.push(d);
      maxBits = Math.max(maxBits, d);
    }
  }
  const mean = diffs.length ? (diffs.reduce((a, b) => a + b, 0) / diffs.length).toFixed(1) : '-';
  console.log(
    `| ${method} | ${equal}/${files.length} (${((100 * equal) / files.length).toFixed(1)}%) | ${diffs.length ? `${mean} (${maxBits})` : '-'} | ${cbirRate.toFixed(0)} | ${peerRate.toFixed(0)} | ${(cbirRate / peerRate).toFixed(2)}x |`,
  );
}
