import { mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockExtractor,
  CosineIndex,
  LanceIndex,
  Retriever,
  directoryDataset,
  extractDataset,
  openQueryEmbedder,
  readImageInfos,
  readMetadata,
  syncIndex,
  type AsyncIndex,
  type Index,
  type ItemMetadata,
} from 'cbir-node';
import { makeImageFolder } from '../helpers.js';

// syncIndex against its oracle: the folder indexed from scratch (extractDataset and readImageInfo, what cbir features
// and cbir index do), compared by path: one item per file, the same vector, the same metadata.

const extractor = new BlockExtractor([{ kind: 'colorhist', norm: 'hellinger' }]);
let dir: string;
let scratch: string;

beforeAll(async () => {
  dir = await makeImageFolder(3);
  scratch = await mkdtemp(join(tmpdir(), 'cbir-sync-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

async function image(path: string, rgb: [number, number, number], side = 50): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side - 8}"><rect width="100%" height="100%" fill="rgb(${rgb.join(',')})"/><circle cx="20" cy="20" r="9" fill="black"/></svg>`;
  await writeFile(path, await sharp(Buffer.from(svg)).jpeg().toBuffer());
}

/** The folder indexed from scratch: path -> vector and metadata. */
async function rebuilt(folder: string): Promise<Map<string, { vector: Float32Array; meta: ItemMetadata }>> {
  const data = await directoryDataset(folder, { size: 'original' });
  const f = await extractDataset(data, extractor);
  const paths = f.ids.map((id) => join(folder, id));
  const info = await readImageInfos(paths);
  const out = new Map<string, { vector: Float32Array; meta: ItemMetadata }>();
  paths.forEach((p, i) =>
    out.set(p, {
      vector: f.matrix.data.slice(i * f.matrix.cols, (i + 1) * f.matrix.cols),
      meta: { ...info[i], path: p, label: f.labels[i] },
    }),
  );
  return out;
}

async function expectEqualsRebuild(index: Index | AsyncIndex, folder: string): Promise<void> {
  const want = await rebuilt(folder);
  const meta = await readMetadata(index);
  const byPath = new Map<string, number>();
  for (const [id, m] of meta) {
    expect(byPath.has(m!.path!), `${m!.path} held twice`).toBe(false);
    byPath.set(m!.path!, id);
  }
  expect([...byPath.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [path, w] of want) {
    const id = byPath.get(path)!;
    expect(meta.get(id)).toEqual(w.meta);
    const v = (await index.vector(id))!;
    const norm = Math.hypot(...w.vector);
    w.vector.forEach((x, j) => expect(v[j]).toBeCloseTo(x / norm, 5));
  }
}

async function fresh(index: Index | AsyncIndex): Promise<Retriever> {
  const retriever = new Retriever(index, { extractor: extractor.spec() });
  retriever.embedder = await openQueryEmbedder(retriever, {});
  return retriever;
}

describe('syncIndex', () => {
  it('builds, then follows adds, content changes, touches and deletions, equal to a rebuild each time', async () => {
    const retriever = await fresh(new CosineIndex(extractor.dim));
    const first = await syncIndex(retriever, dir);
    expect(first.added).toHaveLength(9);
    expect(first.failed.map((f) => f.path)).toEqual([join(dir, 'red/corrupt.jpg')]);
    await expectEqualsRebuild(retriever.index, dir);
    const idsBefore = new Set(await retriever.index.idList());

    await image(join(dir, 'green', 'new.jpg'), [10, 250, 10]);
    await image(join(dir, 'red', '0.jpg'), [250, 250, 0], 70); // new content
    const past = new Date('2020-01-01T00:00:00Z');
    await utimes(join(dir, 'blue', '1.png'), past, past); // same content, another time
    await unlink(join(dir, 'blue', '2.jpg'));
    const report = await syncIndex(retriever, dir);
    expect(report).toMatchObject({
      added: [join(dir, 'green/new.jpg')],
      changed: [join(dir, 'red/0.jpg')],
      touched: [join(dir, 'blue/1.png')],
      removed: [join(dir, 'blue/2.jpg')],
      unchanged: 6,
      duplicates: 0,
      size: 9,
    });
    await expectEqualsRebuild(retriever.index, dir);
    // New items take new ids, never a removed one's.
    const max = Math.max(...idsBefore);
    const added = (await retriever.index.idList()).filter((id) => !idsBefore.has(id));
    expect(added.every((id) => id > max)).toBe(true);
    // Nothing to do the second time: nothing read but the times and sizes.
    expect(await syncIndex(retriever, dir)).toMatchObject({ added: [], changed: [], removed: [], unchanged: 9 });
  });

  it('a dry run reports and changes nothing; a missing folder is refused, the index untouched', async () => {
    const retriever = await fresh(new CosineIndex(extractor.dim));
    await syncIndex(retriever, dir);
    const size = retriever.index.size;
    await image(join(dir, 'blue', 'dry.jpg'), [0, 0, 90]);
    const dry = await syncIndex(retriever, dir, { dryRun: true });
    // The corrupt file is never indexed: a dry run, which reads no file, counts it as new each time.
    expect(dry).toMatchObject({ dryRun: true, added: [join(dir, 'blue/dry.jpg'), join(dir, 'red/corrupt.jpg')], size });
    expect(retriever.index.size).toBe(size);
    await expect(syncIndex(retriever, join(dir, 'nope'))).rejects.toThrow(/cannot read .*nope/);
    expect(retriever.index.size).toBe(size);
    await unlink(join(dir, 'blue', 'dry.jpg'));
  });

  it('an index file killed after a checkpoint: the rerun from the saved bytes finishes the job', async () => {
    const retriever = await fresh(new CosineIndex(extractor.dim));
    await syncIndex(retriever, dir);
    for (let i = 0; i < 5; i++) await image(join(dir, 'red', `k${i}.jpg`), [200, 20 * i, 20]);
    await unlink(join(dir, 'green', '2.jpg'));
    let saved: Uint8Array | undefined;
    const died = new Error('killed');
    await expect(
      syncIndex(retriever, dir, {
        batch: 2,
        checkpoint: async () => {
          saved = retriever.serialize();
          throw died; // the process dies right after its first checkpoint
        },
      }),
    ).rejects.toBe(died);
    const back = Retriever.deserialize(saved!, 'saved');
    back.embedder = await openQueryEmbedder(back, {});
    expect(back.index.size).toBeLessThan(15);
    const rest = await syncIndex(back, dir, { batch: 2 });
    expect(rest.added.length).toBeGreaterThan(0);
    await expectEqualsRebuild(back.index, dir);
  });

  it('a LanceDB table killed between a batch add and its removals: the rerun drops the duplicate', async () => {
    const index = await LanceIndex.create(join(scratch, 'db'), extractor.dim, { metric: 'cosine' });
    const retriever = await fresh(index);
    await syncIndex(retriever, dir);
    await image(join(dir, 'blue', '0.jpg'), [0, 200, 200], 64); // changed: add the new item, then remove the old
    const remove = retriever.remove.bind(retriever);
    retriever.remove = async () => {
      throw new Error('killed');
    };
    await expect(syncIndex(retriever, dir)).rejects.toThrow('killed');
    retriever.remove = remove;
    const held = [...(await readMetadata(index)).values()].filter((m) => m?.path === join(dir, 'blue/0.jpg'));
    expect(held).toHaveLength(2);
    const again = await syncIndex(retriever, dir);
    expect(again).toMatchObject({ duplicates: 1, added: [], changed: [] });
    await expectEqualsRebuild(index, dir);
    await index.close();
  });
});
