// pnpm bench:sync: `cbir sync` after 1% of a 10,000-image folder changed, against rebuilding the index from scratch
// (cbir features, then cbir index), both through the built CLI under GNU time, on a synthetic folder (nothing from
// ../shared). Environment:
//   CBIR_SYNC_N     images (default 10,000), in ten sub-folders
//   CBIR_SYNC_KIND  the features (default fused, cbir's default pipeline)
// The 1%: half new files, a quarter replaced by other pictures under the same names, a quarter deleted. Prints the
// build, the sync and the rebuild (wall seconds, peak RSS) and what sync reported.
import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Sharp from 'sharp';
import { Rng } from 'cbir-core';
import { scene, timed } from './scenes.js';

const sharp = createRequire(import.meta.url)('sharp') as typeof Sharp;
const n = Number(process.env.CBIR_SYNC_N ?? 10_000);
const kind = process.env.CBIR_SYNC_KIND ?? 'fused';
const [W, H] = [160, 120];
const dir = await mkdtemp(join(tmpdir(), 'cbir-bench-sync-'));
const photos = join(dir, 'photos');
const rng = new Rng(35);
const fileOf = (i: number) => join(photos, `folder${i % 10}`, `${i}.jpg`);
const write = async (i: number, seed: number) =>
  writeFile(
    fileOf(i),
    await sharp(scene(new Rng(seed), W, H), { raw: { width: W, height: H, channels: 3 } })
      .jpeg({ quality: 85 })
      .toBuffer(),
  );
for (let f = 0; f < 10; f++) await mkdir(join(photos, `folder${f}`), { recursive: true });
const t0 = Date.now();
for (let i = 0; i < n; i += 64)
  await Promise.all(
    Array.from({ length: Math.min(64, n - i) }, (_, j) => write(i + j, Math.floor(rng.next() * 2 ** 31))),
  );
console.error(`bench:sync: ${n} images of ${W} x ${H} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

const feats = join(dir, 'f.cbirfeat');
const index = join(dir, 'photos.cbirindex');
const build = () => {
  const f = timed(['features', '--data', photos, '--kind', kind, '--out', feats]);
  const x = timed(['index', '--features', feats, '--type', 'exact', '--out', index]);
  return { seconds: f.seconds + x.seconds, rss: Math.max(f.rss, x.rss) };
};
const first = build();

// 1% changes: new files, new pictures under old names, deletions.
const changes = Math.max(4, Math.round(n / 100));
const added = Math.round(changes / 2);
const changed = Math.round(changes / 4);
const removed = changes - added - changed;
for (let i = 0; i < added; i++) await write(n + i, Math.floor(rng.next() * 2 ** 31));
for (let i = 0; i < changed; i++) await write(i * 7, Math.floor(rng.next() * 2 ** 31));
for (let i = 0; i < removed; i++) await unlink(fileOf(n - 1 - i * 3));

const sync = timed(['sync', '--index', index, '--data', photos, '--json']);
const report = JSON.parse(sync.stdout.trim().split('\n').pop()!) as Record<string, number>;
const rebuild = build();
console.log(
  `bench:sync: ${n} images, ${kind} features, ${changes} changed (${added} new, ${changed} replaced, ${removed} deleted)`,
);
console.log('| run | wall s | peak RSS MB | what it did |');
console.log('|---|---|---|---|');
console.log(`| first build (features + index) | ${first.seconds.toFixed(1)} | ${first.rss.toFixed(0)} | ${n} images |`);
console.log(
  `| cbir sync | ${sync.seconds.toFixed(1)} | ${sync.rss.toFixed(0)} | ${report.added} added, ${report.changed} changed, ${report.removed} removed, ${report.unchanged} unchanged |`,
);
console.log(
  `| full rebuild (features + index) | ${rebuild.seconds.toFixed(1)} | ${rebuild.rss.toFixed(0)} | ${n - removed + added} images |`,
);
console.log(`sync / rebuild: ${((100 * sync.seconds) / rebuild.seconds).toFixed(1)}% (target: under 10%)`);
await rm(dir, { recursive: true, force: true });
