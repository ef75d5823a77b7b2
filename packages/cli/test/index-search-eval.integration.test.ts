import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadIndex, serializeFeatures } from 'cbir-node';
import { readNpy } from 'cbir-core/io';
import { composeQuery } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { cbir, cbirResult, lastJson, makeImageFolder, root } from './helpers.js';

describe('cbir index, search and eval', () => {
  it('index a feature file, search by a new image and by id with a montage, evaluate by label', async () => {
    const data = await makeImageFolder(5);
    const out = await mkdtemp(join(tmpdir(), 'cbir-index-'));
    await cbir(
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
      out,
      '--json',
    );
    const feats = join(out, 'f.cbirfeat');
    await cbir('embed', '--model', out, '--data', data, '--out', feats, '--reduce', 'rp:16', '--l2', '--threads', '1');
    for (const type of ['exact', 'cosine', 'lsh'])
      await cbir(
        'index',
        '--features',
        feats,
        '--type',
        type,
        '--out',
        join(out, `${type}.idx`),
        '--hash-size',
        '4',
        '--tables',
        '3',
      );

    // A new image, not in the index: a file of the red class, re-encoded, goes through the same pipeline.
    const query = join(out, 'query.png');
    await sharp(join(data, 'red', '0.jpg'))
      .png()
      .toFile(query);
    const montage = join(out, 'm.png');
    const { stdout } = await cbir(
      'search',
      '--index',
      join(out, 'exact.idx'),
      '--query',
      query,
      '--model',
      out,
      '-k',
      '4',
      '--montage',
      montage,
      '--json',
    );
    const res = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{'))!);
    expect(res.results).toHaveLength(4);
    expect(res.results[0].path).toBe(join(data, 'red', '0.jpg')); // its own source image, re-encoded as PNG
    expect(res.results[0].distance).toBeLessThan(0.05);
    for (let j = 1; j < 4; j++) expect(res.results[j].distance).toBeGreaterThanOrEqual(res.results[j - 1].distance);
    const meta = await sharp(montage).metadata();
    expect(meta.width).toBeGreaterThan(4 * 160);

    const byId = JSON.parse(
      (await cbir('search', '--index', join(out, 'lsh.idx'), '--id', '2', '-k', '3', '--json')).stdout
        .split('\n')
        .find((l) => l.startsWith('{'))!,
    );
    expect(byId.results.every((r: { id: number }) => r.id !== 2)).toBe(true);

    // --where keeps the items passing the filter (exactly: the same as the unfiltered ranking, filtered); --max-distance
    // and --min-similarity cut off the far ones.
    const json = async (...a: string[]) =>
      JSON.parse(
        (await cbir('search', '--index', join(out, 'cosine.idx'), '--id', '0', ...a, '--json')).stdout
          .split('\n')
          .find((l) => l.startsWith('{'))!,
      ).results as { id: number; label: string; distance: number }[];
    const everything = await json('-k', '14');
    const filtered = await json('-k', '3', '--where', "label = 'green' OR id = 14");
    expect(filtered).toEqual(everything.filter((r) => r.label === 'green' || r.id === 14).slice(0, 3));
    const cut = everything[4].distance;
    expect(await json('-k', '10', '--max-distance', String(cut))).toEqual(everything.filter((r) => r.distance <= cut));
    expect(await json('-k', '10', '--min-similarity', String(1 - cut))).toEqual(
      everything.filter((r) => r.distance <= 1 - (1 - cut)),
    );
    // Composed: two items to look like, one not to; the examples left out of the results; the same ranking as a search
    // with composeQuery's vector.
    const composed = await json('-k', '5', '--id', '7', '--not-id', '12', '--not-weight', '0.5');
    const cosine = await loadIndex(join(out, 'cosine.idx'));
    const q = composeQuery(
      [{ vector: cosine.vector(0)! }, { vector: cosine.vector(7)! }],
      [{ vector: cosine.vector(12)! }],
      {
        metric: 'cosine',
        negativeWeight: 0.5,
      },
    );
    const direct = cosine.search({ data: q, rows: 1, cols: q.length }, 8);
    const expected = Array.from(direct.ids)
      .filter((id) => ![0, 7, 12].includes(id))
      .slice(0, 5);
    expect(composed.map((r) => r.id)).toEqual(expected);
    const bad = await cbirResult('search', '--index', join(out, 'exact.idx'), '--id', '0', '--min-similarity', '0.5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--min-similarity needs a cosine index; .*exact\.idx is euclidean: use --max-distance/);
    const typo = await cbirResult('search', '--index', join(out, 'exact.idx'), '--id', '0', '--where', "lable = 'red'");
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(
      /where: no column "lable" \(the columns: id, path, label, width, .*gps\) at character 1/,
    );

    const report = JSON.parse(
      (await cbir('eval', '--index', join(out, 'cosine.idx'), '-k', '1,3', '--json')).stdout
        .split('\n')
        .find((l) => l.startsWith('{'))!,
    );
    expect(report.queries).toBe(15);
    expect(Object.keys(report.perClass)).toEqual(['blue', 'green', 'red']);
    expect(report.meanAveragePrecision).toBeGreaterThan(0);
    expect(report.meanAveragePrecision).toBeLessThanOrEqual(1);
    // Over the items a filter passes: they are the queries and the collection.
    const some = lastJson(
      (await cbir('eval', '--index', join(out, 'cosine.idx'), '-k', '1,3', '--where', "label != 'red'", '--json'))
        .stdout,
    );
    expect(some).toMatchObject({ queries: 10, where: "label != 'red'" });
    expect(Object.keys(some.perClass)).toEqual(['blue', 'green']);
  });

  it('names the file when an index is damaged, and exits 1', async () => {
    const e = await cbir('eval', '--index', join(root, 'package.json')).catch((x) => x);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/package\.json is not a CBIRINDX file/);
  });

  it("cbir index --planes imports lshashpy3's hyperplanes: the CLI's index ranks as lshashpy3 does", async () => {
    const fixtures = join(root, 'packages/core/test/fixtures/lshashpy3');
    const data = readNpy(new Uint8Array(await readFile(join(fixtures, 'data.npy'))));
    const queries = readNpy(new Uint8Array(await readFile(join(fixtures, 'queries.npy'))));
    const expected = JSON.parse(await readFile(join(fixtures, 'expected.json'), 'utf8'));
    const config = expected.configs[0];
    const out = await mkdtemp(join(tmpdir(), 'cbir-planes-'));
    const rows = data.shape[0];
    const matrix = { data: Float32Array.from(data.data), rows, cols: data.shape[1] };
    // lshashpy3 indexed item i under extra_data=i; our ids are row numbers, the same.
    await writeFile(
      join(out, 'f.cbirfeat'),
      serializeFeatures({
        matrix,
        ids: Array.from({ length: rows }, (_, i) => String(i)),
        labels: new Array(rows).fill(undefined),
      }),
    );
    await cbir(
      'index',
      '--features',
      join(out, 'f.cbirfeat'),
      '--type',
      'lsh',
      '--hash-size',
      String(config.hash_size),
      '--tables',
      String(config.num_hashtables),
      '--planes',
      join(fixtures, config.planes_file),
      '--out',
      join(out, 'lsh.idx'),
    );
    const index = await loadIndex(join(out, 'lsh.idx'));
    const d = queries.shape[1];
    for (let q = 0; q < 5; q++) {
      const want: number[] = config.results.hamming[q].ids;
      const got = index.search(
        { data: Float32Array.from(queries.data.subarray(q * d, (q + 1) * d)), rows: 1, cols: d },
        want.length,
      );
      expect(Array.from(got.ids)).toEqual(want);
    }
    await expect(
      cbir(
        'index',
        '--features',
        join(out, 'f.cbirfeat'),
        '--type',
        'exact',
        '--planes',
        'x.npz',
        '--out',
        join(out, 'e.idx'),
      ),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('--planes applies to --type lsh only') });
  });
});
