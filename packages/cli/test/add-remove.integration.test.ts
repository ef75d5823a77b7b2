import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LanceIndex, loadIndex, readMetadata, type AsyncIndex, type Index } from 'cbir-node';
import { cbir, makeImageFolder } from './helpers.js';

const json = async (...a: string[]) =>
  JSON.parse(
    (await cbir(...a, '--json')).stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!,
  );

/**
 * Every item's full ranking as paths and distances, read in this process from the index that `where` names (the CLI
 * wrote it), sorted by distance then path: ids differ between a grown and a rebuilt index, so ties (these plain images
 * have many) are compared as sets.
 */
async function neighbourhoods(where: string[]): Promise<Record<string, { path: string; distance: number }[]>> {
  const index: Index | AsyncIndex =
    where[0] === '--index' ? await loadIndex(where[1]) : await LanceIndex.open(where[3]);
  const out: Record<string, { path: string; distance: number }[]> = {};
  for (const id of await index.idList()) {
    const res = await index.search({ data: (await index.vector(id))!, rows: 1, cols: index.dim }, index.size);
    const list: { path: string; distance: number }[] = [];
    for (let j = 0; j < res.k; j++) {
      if (res.ids[j] !== id)
        list.push({ path: (await index.metadata(res.ids[j]))!.path!, distance: Number(res.distances[j].toFixed(6)) });
    }
    out[(await index.metadata(id))!.path!] = list.sort(
      (x, y) => x.distance - y.distance || x.path.localeCompare(y.path),
    );
  }
  await (index as AsyncIndex).close?.();
  return out;
}

async function newImage(dir: string, name: string, rgb: [number, number, number]): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="52"><rect width="100%" height="100%" fill="rgb(${rgb.join(',')})"/><rect x="10" y="10" width="20" height="20" fill="black"/></svg>`;
  await writeFile(join(dir, name), await sharp(Buffer.from(svg)).jpeg().toBuffer());
}

describe('cbir add, remove and migrate', () => {
  it('an index file and a LanceDB table grown by add and shrunk by remove answer as a rebuilt index does', async () => {
    const first = await makeImageFolder(3);
    const out = await mkdtemp(join(tmpdir(), 'cbir-add-'));
    const grown = join(out, 'photos');
    await cp(first, grown, { recursive: true });
    const feats = join(out, 'f.cbirfeat');
    await cbir('features', '--data', first, '--kind', 'colorhist', '--norm', 'hellinger', '--out', feats);
    await cbir('index', '--features', feats, '--type', 'cosine', '--out', join(out, 'a.idx'));
    await cbir('index', '--features', feats, '--type', 'hnsw', '--metric', 'cosine', '--out', join(out, 'h.idx'));
    const lance = ['--engine', 'lancedb', '--uri', join(out, 'db')];
    await cbir('index', '--features', feats, ...lance, '--metric', 'cosine');

    // The library grows: two new photos in the copy the index is told about (the old ones are already in it).
    await newImage(join(first, 'red'), 'new1.jpg', [230, 30, 30]);
    await newImage(join(first, 'blue'), 'new2.jpg', [30, 30, 230]);
    const added = await json('add', '--index', join(out, 'a.idx'), '--data', first);
    expect(added).toMatchObject({ added: 2, size: 11 });
    expect(await json('add', '--index', join(out, 'h.idx'), '--data', first)).toMatchObject({ added: 2, size: 11 });
    expect(await json('add', ...lance, '--data', first)).toMatchObject({ added: 2, size: 11 });
    // Again: nothing new.
    expect(await json('add', '--index', join(out, 'a.idx'), '--data', first)).toMatchObject({ added: 0, size: 11 });

    // And shrinks: a photo deleted from disk.
    await rm(join(first, 'green', '0.jpg'));
    expect(await json('remove', '--index', join(out, 'a.idx'), '--missing')).toMatchObject({ removed: 1, size: 10 });
    expect(await json('remove', '--index', join(out, 'h.idx'), '--missing')).toMatchObject({ removed: 1, size: 10 });
    expect(await json('remove', ...lance, '--missing')).toMatchObject({ removed: 1, size: 10 });

    // The same folder indexed from scratch.
    await cbir(
      'features',
      '--data',
      first,
      '--kind',
      'colorhist',
      '--norm',
      'hellinger',
      '--out',
      join(out, 'g.cbirfeat'),
    );
    await cbir('index', '--features', join(out, 'g.cbirfeat'), '--type', 'cosine', '--out', join(out, 'rebuilt.idx'));
    const want = await neighbourhoods(['--index', join(out, 'rebuilt.idx')]);
    expect(Object.keys(want)).toHaveLength(10);
    expect(await neighbourhoods(['--index', join(out, 'a.idx')])).toEqual(want);
    expect(await neighbourhoods(['--index', join(out, 'h.idx')])).toEqual(want);
    expect(await neighbourhoods(lance)).toEqual(want);
    // And through the CLI: search --id on the grown table ranks as on the rebuilt file.
    const viaCli = await json('search', ...lance, '--id', '0', '-k', '9');
    expect(viaCli.results.map((h: { distance: number }) => Number(h.distance.toFixed(6)))).toEqual(
      want[viaCli.query].map((h) => h.distance),
    );

    // eval runs on the table as on the file; migrate moves the file into a new table that answers the same.
    // (Against the grown file, whose ids are the table's: ties at distance 1 are ranked by id.)
    const evalFile = await json('eval', '--index', join(out, 'a.idx'), '-k', '1,3');
    const evalLance = await json('eval', ...lance, '-k', '1,3');
    expect(evalLance.queries).toBe(10);
    expect(evalLance.meanAveragePrecision).toBeCloseTo(evalFile.meanAveragePrecision, 10);
    expect(evalLance.precisionAtK).toEqual(evalFile.precisionAtK);
    const only = ['--where', "label IN ('red', 'blue')"];
    const whereFile = await json('eval', '--index', join(out, 'a.idx'), '-k', '1,3', ...only);
    const whereLance = await json('eval', ...lance, '-k', '1,3', ...only);
    expect(whereLance.queries).toBe(8);
    expect(whereLance.meanAveragePrecision).toBeCloseTo(whereFile.meanAveragePrecision, 10);
    // The same rankings; the per-class means may differ in the last bit (summed in another order).
    for (const [label, c] of Object.entries(whereFile.perClass) as [string, { meanAveragePrecision: number }][]) {
      expect(whereLance.perClass[label]).toMatchObject({ ...c, meanAveragePrecision: expect.any(Number) });
      expect(whereLance.perClass[label].meanAveragePrecision).toBeCloseTo(c.meanAveragePrecision, 10);
    }
    await cbir('migrate', '--index', join(out, 'a.idx'), '--engine', 'lancedb', '--uri', join(out, 'db2'));
    expect(await neighbourhoods(['--engine', 'lancedb', '--uri', join(out, 'db2')])).toEqual(want);
    await rm(grown, { recursive: true, force: true });
  }, 300_000); // some 20 CLI runs through vite-node (5 s each to transform the sources): near the 120 s default alone

  it('cbir sync keeps an index file and a LanceDB table equal to a rebuild after adds, changes and deletions', async () => {
    const photos = await makeImageFolder(3);
    const out = await mkdtemp(join(tmpdir(), 'cbir-sync-'));
    const feats = join(out, 'f.cbirfeat');
    await cbir('features', '--data', photos, '--kind', 'colorhist', '--norm', 'hellinger', '--out', feats);
    await cbir('index', '--features', feats, '--type', 'cosine', '--out', join(out, 'a.idx'));
    const lance = ['--engine', 'lancedb', '--uri', join(out, 'db')];
    await cbir('index', '--features', feats, ...lance, '--metric', 'cosine');

    await newImage(join(photos, 'green'), 'new.jpg', [20, 240, 20]);
    await newImage(join(photos, 'red'), '0.jpg', [240, 240, 20]); // the same name, another picture
    await rm(join(photos, 'blue', '2.jpg'));
    const dry = await json('sync', '--index', join(out, 'a.idx'), '--data', photos, '--dry-run');
    expect(dry).toMatchObject({ dryRun: true, added: 2, changed: 1, removed: 1, size: 9 }); // + corrupt.jpg, never held
    const want = { added: 1, changed: 1, removed: 1, unchanged: 7, size: 9 };
    const file = await json('sync', '--index', join(out, 'a.idx'), '--data', photos);
    expect(file).toMatchObject(want);
    expect(file.failed).toEqual([{ path: join(photos, 'red/corrupt.jpg'), reason: expect.stringMatching(/corrupt/) }]);
    expect(await json('sync', ...lance, '--data', photos)).toMatchObject(want);
    expect(await json('sync', ...lance, '--data', photos)).toMatchObject({ added: 0, changed: 0, unchanged: 9 });

    const again = join(out, 'g.cbirfeat');
    await cbir('features', '--data', photos, '--kind', 'colorhist', '--norm', 'hellinger', '--out', again);
    await cbir('index', '--features', again, '--type', 'cosine', '--out', join(out, 'rebuilt.idx'));
    const rebuilt = await neighbourhoods(['--index', join(out, 'rebuilt.idx')]);
    expect(Object.keys(rebuilt)).toHaveLength(9);
    expect(await neighbourhoods(['--index', join(out, 'a.idx')])).toEqual(rebuilt);
    expect(await neighbourhoods(lance)).toEqual(rebuilt);
    // Each item's metadata (size, time, content hash, pixels) is the rebuilt index's.
    const byPath = async (index: Index | AsyncIndex) =>
      Object.fromEntries([...(await readMetadata(index)).values()].map((m) => [m!.path, m]));
    const table = await LanceIndex.open(join(out, 'db'));
    const metaWant = await byPath(await loadIndex(join(out, 'rebuilt.idx')));
    expect(metaWant[join(photos, 'green/new.jpg')]).toMatchObject({ width: 64, height: 52, label: 'green' });
    expect(await byPath(await loadIndex(join(out, 'a.idx')))).toEqual(metaWant);
    expect(await byPath(table)).toEqual(metaWant);
    await table.close();
    await rm(out, { recursive: true, force: true });
    await rm(photos, { recursive: true, force: true });
  }, 300_000);

  it('refuses bad index flags before any work, exit 1 with what to pass', async () => {
    const e1 = await cbir('remove', '--engine', 'lancedb', '--ids', '1').catch((x) => x);
    expect(e1.stderr).toMatch(/--engine lancedb needs --uri DIR/);
    const e2 = await cbir('remove', '--index', 'x.idx').catch((x) => x);
    expect(e2.stderr).toMatch(/one of --ids or --missing is required/);
    const e3 = await cbir('remove', '--index', 'x.idx', '--ids', '1,a').catch((x) => x);
    expect(e3.stderr).toMatch(/--ids takes non-negative integers separated by commas, got "a"/);
    const e4 = await cbir('index', '--features', 'f', '--type', 'hnsw', '--out', 'o', '--metric', 'l1').catch((x) => x);
    expect(e4.stderr).toMatch(/--metric must be euclidean or cosine/);
  });
});
