import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIndex, readLshashPickle } from 'cbir-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cbir, firstJson, makeImageFolder, root } from './helpers.js';

const fixtures = join(root, 'packages/core/test/fixtures');
const json = firstJson;

describe("the notebook's files from the CLI", () => {
  it("cbir index --features features.pkl, then search by id: ids are the pickle's indexes", async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-nb-'));
    await cbir(
      'index',
      '--features',
      join(fixtures, 'notebook/features-p4.pkl'),
      '--type',
      'exact',
      '--out',
      join(out, 'pkl.idx'),
    );
    const index = await loadIndex(join(out, 'pkl.idx'));
    expect(index.size).toBe(6);
    expect(index.dim).toBe(128);
    const hits = json(
      (await cbir('search', '--index', join(out, 'pkl.idx'), '--id', '2', '-k', '3', '--json')).stdout,
    ).results;
    expect(hits).toHaveLength(3);
    expect(hits.every((h: { id: number }) => h.id !== 2 && h.id >= 0 && h.id < 6)).toBe(true);
  });

  it('cbir index --features x.npy --ids ids.npy: the ids file names the rows', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-npy-'));
    await cbir(
      'index',
      '--features',
      join(fixtures, 'notebook/features.npy'),
      '--ids',
      join(fixtures, 'notebook/ids.npy'),
      '--type',
      'cosine',
      '--out',
      join(out, 'npy.idx'),
    );
    const index = await loadIndex(join(out, 'npy.idx'));
    expect([...Array(6)].map((_, i) => index.vector(100 + i) !== undefined)).toEqual(Array(6).fill(true));
  });

  it("cbir search --index lsh.p --id 5: the notebook's get_similar_item(5), from its pickled LSHash", async () => {
    const lshP = join(fixtures, 'lshashpy3/lsh-12x5.p');
    const hits = json((await cbir('search', '--index', lshP, '--id', '5', '-k', '10', '--json')).stdout).results as {
      id: number;
      distance: number;
    }[];
    const lsh = readLshashPickle(new Uint8Array(await readFile(lshP)), lshP);
    const want = lsh.search({ data: lsh.vector(5)!, rows: 1, cols: lsh.dim }, 11);
    expect(hits.map((h) => h.id)).toEqual(
      Array.from(want.ids)
        .filter((id) => id !== 5 && id >= 0)
        .slice(0, 10),
    );
  });

  it("cbir cluster --features features.pkl runs the elbow and silhouette on the notebook's latents", async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-nbc-'));
    await cbir(
      'cluster',
      '--features',
      join(fixtures, 'notebook/features-p2.pkl'),
      '--out',
      out,
      '--k',
      '2..3',
      '--silhouette',
      '2..3',
      '--json',
    );
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(JSON.stringify(summary)).toContain('"k":3');
  });

  it('cbir search --montage --layout notebook: build_montages(results, (512, 512), (5, 2)), bare tiles, black where none', async () => {
    const data = await makeImageFolder(4);
    const out = await mkdtemp(join(tmpdir(), 'cbir-montage-'));
    await cbir('features', '--data', data, '--kind', 'colorhist', '--size', '32', '--out', join(out, 'f.cbirfeat'));
    await cbir('index', '--features', join(out, 'f.cbirfeat'), '--type', 'exact', '--out', join(out, 'x.idx'));
    const hits = json(
      (
        await cbir(
          'search',
          '--index',
          join(out, 'x.idx'),
          '--id',
          '0',
          '-k',
          '7',
          '--montage',
          join(out, 'm.png'),
          '--layout',
          'notebook',
          '--json',
        )
      ).stdout,
    ).results;
    expect(hits).toHaveLength(7);
    const { data: px, info } = await sharp(join(out, 'm.png'))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([2560, 1024]);
    const at = (x: number, y: number): number[] =>
      Array.from(px.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    // Tile 1 is the first result stretched to 512 x 512 (its corner is its background colour, not a caption bar or a
    // frame); tiles 8 to 10 are black (only 7 results).
    const first = await sharp(hits[0].path).removeAlpha().resize(512, 512, { fit: 'fill' }).raw().toBuffer();
    expect(at(3, 3).every((v, c) => Math.abs(v - first[3 * 512 * 3 + 3 * 3 + c]) <= 8)).toBe(true);
    expect(at(512 + 256, 512 + 256).some((v) => v > 0)).toBe(true); // tile 7: second row, second column
    expect(at(512 * 2 + 256, 512 + 256)).toEqual([0, 0, 0]); // tile 8
    expect(at(2560 - 256, 1024 - 256)).toEqual([0, 0, 0]); // tile 10
  });
});
