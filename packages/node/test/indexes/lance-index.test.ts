import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CosineIndex, ExactEuclideanIndex, recallAtK } from 'cbir-core';
import { LanceIndex, Retriever } from 'cbir-node';
import {
  clusteredMatrix,
  describeIndexContract,
  euclidean,
  randomMatrix,
} from '../../../core/test/indexes/index-contract.js';

const root = mkdtempSync(join(tmpdir(), 'cbir-lance-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (dim: number, metric: 'euclidean' | 'cosine' = 'euclidean') =>
  LanceIndex.create(join(root, `db${n++}`), dim, { metric });
const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return 1 - d / Math.sqrt(na * nb);
};
// Before an ANN index, LanceDB scans the table: with cbir's float64 re-rank the results are the oracle's.
const flags = { exact: true, removable: true, persistent: false };
describeIndexContract('LanceIndex (euclidean, no ANN index)', (dim) => fresh(dim), euclidean, flags);
describeIndexContract('LanceIndex (cosine, no ANN index)', (dim) => fresh(dim, 'cosine'), cosine, flags);

describe('LanceIndex', () => {
  it('reopens a table with its rows, metadata and the specs saved beside it; refuses a folder without one', async () => {
    const uri = join(root, 'reopen');
    const a = await LanceIndex.create(uri, 8, { metric: 'cosine' });
    const extractor = { kind: 'colorhist', options: { bins: [8, 12, 3] } };
    await new Retriever(a, { extractor }).save();
    await a.add(
      randomMatrix(30, 8, 1),
      undefined,
      Array.from({ length: 30 }, (_, i) => ({ path: `p${i}.jpg`, label: String(i % 3) })),
    );
    const q = randomMatrix(3, 8, 2);
    const before = await a.search(q, 5);
    await a.close();
    const b = await LanceIndex.open(uri);
    expect(b.size).toBe(30);
    expect(b.metric).toBe('cosine');
    expect(Retriever.open(b).extractor).toEqual(extractor);
    expect(await b.metadata(7)).toEqual({ path: 'p7.jpg', label: '1' });
    expect(await b.search(q, 5)).toEqual(before);
    await expect(LanceIndex.create(uri, 8)).rejects.toThrow(
      /already has a table "cbir"; open it with LanceIndex.open, or pass overwrite/,
    );
    await expect(LanceIndex.open(join(root, 'nothing'))).rejects.toThrow(/has no cbir table "cbir"/);
    await b.close();
  });

  it('readers see whole commits: an overwrite is invisible until its rows are in, ids are never given twice', async () => {
    const uri = join(root, 'commits');
    const a = await LanceIndex.create(uri, 4);
    await expect(LanceIndex.open(uri)).rejects.toThrow(/was never committed: its build was interrupted/);
    await a.add(randomMatrix(10, 4, 1));
    const v = a.version!;
    expect(v).toBeGreaterThan(0);
    await a.close();
    // A build over it: readers keep the 10 old rows until its add commits the new ones.
    const b = await LanceIndex.create(uri, 4, { overwrite: true });
    const reader = await LanceIndex.open(uri);
    expect(reader.size).toBe(10);
    expect(reader.version).toBe(v);
    await reader.close();
    await b.add(randomMatrix(3, 4, 2));
    const after = await LanceIndex.open(uri);
    expect(after.size).toBe(3);
    expect(after.version).toBeGreaterThan(v);
    // Remove the newest id, add one: it gets a new id, also after a reopen.
    expect(await after.remove([2])).toBe(1);
    await after.close();
    const again = await LanceIndex.open(uri);
    expect(again.nextId).toBe(3);
    await again.add(randomMatrix(1, 4, 3));
    expect((await again.idList()).sort()).toEqual([0, 1, 3]);
    await again.close();
    await b.close();
  });

  it('an IVF-PQ index built through LanceDB reaches recall@10 >= 0.9 with its files on disk', async () => {
    const all = clusteredMatrix(5050, 32, 21, 32);
    const x = { data: all.data.subarray(0, 5000 * 32), rows: 5000, cols: 32 };
    const q = { data: all.data.subarray(5000 * 32), rows: 50, cols: 32 };
    const index = await fresh(32);
    await index.add(x);
    await index.buildAnnIndex({ type: 'ivf_pq', numPartitions: 16, numSubVectors: 8 });
    index.searchOptions = { nprobes: 8, refineFactor: 10 };
    expect(index.hasAnnIndex).toBe(true);
    const exact = new ExactEuclideanIndex(32);
    exact.add(x);
    expect(recallAtK(await index.search(q, 10), exact.search(q, 10))).toBeGreaterThanOrEqual(0.9);
    await index.close();
  });

  it("a where filter is LanceDB's own, and equals the exact filtered search", async () => {
    const x = randomMatrix(400, 8, 5);
    const labels = Array.from({ length: 400 }, (_, i) => ['beach', 'food', 'bus'][i % 3]);
    const metadata = labels.map((label, i) => ({
      label,
      path: `/photos/${label}/${i}.jpg`,
      ...(i % 5 ? { width: 640 + (i % 7) * 320, gps: i % 2 === 0 } : {}),
      ...(i % 3 ? { taken: new Date(Date.UTC(2022, 0, 1) + i * 86_400_000 * 2.5).toISOString() } : {}),
    }));
    const lance = await fresh(8, 'cosine');
    await lance.add(x, undefined, metadata);
    const exact = new CosineIndex(8);
    exact.add(x, undefined, metadata);
    const q = { data: x.data.subarray(0, 3 * 8), rows: 3, cols: 8 };
    for (const where of [
      "label = 'food'",
      "label != 'food' AND id < 100",
      "path LIKE '%/bus/1%' OR id IN (5, 7)",
      "taken BETWEEN '2022-06-01' AND '2022-12-31T23:59:59Z' AND NOT gps",
      'width >= 1600 OR taken IS NULL',
    ]) {
      const got = await new Retriever(lance).search(q, 10, { where });
      const want = await new Retriever(exact).search(q, 10, { where });
      expect(Array.from(got.ids), where).toEqual(Array.from(want.ids));
      for (let t = 0; t < got.distances.length; t++) expect(got.distances[t]).toBeCloseTo(want.distances[t], 6);
    }
    await lance.close();
  });

  it('opens a table built before cbir kept more than path and label: reads, adds and filters what it has', async () => {
    const uri = join(root, 'legacy');
    const index = await LanceIndex.create(uri, 4);
    await index.add(randomMatrix(3, 4, 1), undefined, [{ path: 'a.jpg', label: 'x', width: 10 }, undefined, {}]);
    await index.close();
    // What an earlier release wrote: the data table with id, vector, path and label only, committed as cbir commits.
    const lancedb = await import('@lancedb/lancedb');
    const db = await lancedb.connect(uri);
    const table = await db.openTable('cbir');
    const extra = (await table.schema()).fields.map((f) => f.name).filter((c) => !/^(id|vector|path|label)$/.test(c));
    await table.dropColumns(extra);
    const meta = await db.openTable('cbir__cbir');
    const record = (await meta.query().toArray()).map((r) => ({ key: String(r.key), value: String(r.value) }));
    const config = record.find((r) => r.key === 'config')!;
    config.value = JSON.stringify({ ...JSON.parse(config.value), dataVersion: await table.version() });
    await meta.add(record, { mode: 'overwrite' });
    table.close();
    meta.close();

    const old = await LanceIndex.open(uri);
    expect(old.metadataColumns).toEqual(['path', 'label']);
    expect(await old.metadata(0)).toEqual({ path: 'a.jpg', label: 'x' });
    await old.add(randomMatrix(1, 4, 2), undefined, [{ path: 'b.jpg', width: 20, gps: true }]);
    expect(await old.metadata(3)).toEqual({ path: 'b.jpg' });
    const q = randomMatrix(1, 4, 3);
    const hits = await new Retriever(old).search(q, 4, { where: "path = 'b.jpg'" });
    expect(Array.from(hits.ids)).toEqual([3, -1, -1, -1]);
    await expect(new Retriever(old, { source: uri }).search(q, 4, { where: 'width > 5' })).rejects.toThrow(
      /has no width column .* holds path, label\)\. Rebuild it/,
    );
    await old.close();
  });

  it('rejects a bad dim, metric and table name with what is expected', async () => {
    await expect(LanceIndex.create(join(root, 'bad'), 0)).rejects.toThrow(/dim must be a positive integer/);
    await expect(LanceIndex.create(join(root, 'bad'), 4, { metric: 'l1' as 'cosine' })).rejects.toThrow(
      /metric must be euclidean or cosine/,
    );
    await expect(LanceIndex.create(join(root, 'bad'), 4, { table: '../x' })).rejects.toThrow(/table name/);
  });
});
