import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMeans, loadFeatures, silhouetteScore } from 'cbir-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cbir, lastJson, makeImageFolder } from './helpers.js';

describe('cbir features, cluster and bow', () => {
  it('colour histograms of a folder, clustered with elbow and silhouette plots', async () => {
    const data = await makeImageFolder(6);
    const out = await mkdtemp(join(tmpdir(), 'cbir-cluster-'));
    const feats = join(out, 'ch.cbirfeat');
    const f = lastJson(
      (await cbir('features', '--data', data, '--kind', 'colorhist', '--out', feats, '--size', '32', '--json')).stdout,
    );
    expect(f).toMatchObject({ rows: 18, cols: 288 }); // 3 classes x 6; the corrupt file is skipped
    const features = await loadFeatures(feats);
    expect(new Set(features.labels)).toEqual(new Set(['red', 'green', 'blue']));

    const dir = join(out, 'clusters');
    const summary = lastJson(
      (
        await cbir(
          'cluster',
          '--features',
          feats,
          '--out',
          dir,
          '--k',
          '2..4',
          '--silhouette',
          '3',
          '--scatter',
          'dims',
          '--json',
        )
      ).stdout,
    );
    expect(summary.elbow.map((p: { k: number }) => p.k)).toEqual([2, 3, 4]);
    // The command's numbers are the library's.
    const km = new KMeans({ nClusters: 3, nInit: 10, seed: 0 }).fit(features.matrix);
    expect(summary.elbow[1].inertia).toBeCloseTo(km.inertia, 6);
    expect(summary.silhouette[0].score).toBeCloseTo(silhouetteScore(features.matrix, km.labels), 6);
    for (const name of ['elbow', 'silhouette-3', 'clusters-3']) {
      expect((await readFile(join(dir, `${name}.svg`), 'utf8')).startsWith('<svg')).toBe(true);
      expect((await sharp(join(dir, `${name}.png`)).metadata()).width).toBeGreaterThan(300);
    }
    // The notebook's figure: both panels in one picture, its titles, the first two features on the axes (--scatter dims).
    const figure = await readFile(join(dir, 'silhouette-3.svg'), 'utf8');
    for (const text of [
      'Silhouette analysis for KMeans clustering on sample data with n_clusters = 3',
      'The silhouette plot for the various clusters.',
      'The visualization of the clustered data.',
      'Feature space for the 1st feature',
      'The silhouette coefficient values',
    ])
      expect(figure).toContain(text);
    expect((await sharp(join(dir, 'silhouette-3.png')).metadata()).width).toBeGreaterThan(
      (await sharp(join(dir, 'clusters-3.png')).metadata()).width! * 1.5,
    );
    const csv = (await readFile(join(dir, 'assignments.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('id,label,k2,k3,k4');
    expect(csv).toHaveLength(19);

    await expect(cbir('cluster', '--features', feats, '--out', dir, '--k', '4..2')).rejects.toMatchObject({
      stderr: expect.stringContaining('not an increasing range'),
    });
    await expect(cbir('cluster', '--features', join(out, 'missing.cbirfeat'), '--out', dir)).rejects.toMatchObject({
      stderr: expect.stringContaining('cannot read the feature file'),
    });
  });

  it('ORB bag of visual words: elbow, vocabulary, features, and the same features from cbir features --kind bow', async () => {
    const data = await makeImageFolder(4);
    const out = await mkdtemp(join(tmpdir(), 'cbir-bow-'));
    // MiniBatchKMeans(batch_size=100), the notebook's, by default. The images are resized: at their own size
    // (60 x 48 and up, flat colours) ORB finds no corners in them.
    const summary = lastJson(
      (await cbir('bow', '--data', data, '--out', out, '--k', '2..3', '--vocab', '5', '--size', '256', '--json'))
        .stdout,
    );
    expect(summary.images).toBe(12);
    expect(summary).toMatchObject({ size: 256, batchSize: 100 });
    expect(summary.skipped).toEqual(['red/corrupt.jpg']);
    expect(summary.descriptors).toBeGreaterThan(12);
    expect(summary.elbow).toHaveLength(2);
    const bow = await loadFeatures(join(out, 'features.cbirfeat'));
    expect([bow.matrix.rows, bow.matrix.cols]).toEqual([12, 5]);
    const again = join(out, 'again.cbirfeat');
    await cbir(
      'features',
      '--data',
      data,
      '--kind',
      'bow',
      '--vocab',
      join(out, 'vocabulary.bin'),
      '--size',
      '256',
      '--out',
      again,
    );
    expect(Array.from((await loadFeatures(again)).matrix.data)).toEqual(Array.from(bow.matrix.data));
    // The vocabulary goes with the features and the index: a new image is described with the collection's words.
    const idx = join(out, 'bow.cbirindex');
    await cbir('index', '--features', again, '--type', 'exact', '--out', idx); // exact: an image without corners is a zero row
    const row = bow.ids.findIndex((_, i) => bow.matrix.data.subarray(i * 5, (i + 1) * 5).some((v) => v > 0));
    const query = join(data, bow.ids[row]);
    const res = lastJson((await cbir('search', '--index', idx, '--query', query, '-k', '2', '--json')).stdout);
    expect(res.results[0].distance).toBeCloseTo(0, 5);
    expect(res.results.map((r: { id: number }) => r.id)).toContain(row);
    expect((await sharp(join(out, 'elbow.png')).metadata()).format).toBe('png');
  });
});
