import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  KMeans,
  MiniBatchKMeans,
  clusterScatterSpec,
  elbow,
  elbowPlotSpec,
  PCA,
  Rng,
  selectRows,
  silhouetteSamples,
  silhouetteAnalysisSpec,
  type ElbowPoint,
  type Matrix,
} from 'cbir-core';
import { initNodeBackend, writeFileAtomic, loadFeatures } from 'cbir-node';
import { writePlot } from '../plots/write-plot.js';
import { progressPrinter } from '../progress-bar.js';
import { parseIntRange } from '../ranges.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  features: { type: 'string' },
  out: { type: 'string' },
  k: { type: 'string', default: '4..9' },
  silhouette: { type: 'string', default: '3..9' },
  scatter: { type: 'string', default: 'pca' },
  'mini-batch': { type: 'boolean', default: false },
  'n-init': { type: 'string', default: '10' },
  batch: { type: 'string', default: '1024' },
  seed: { type: 'string', default: '0' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  features: ['FILE', "a feature file (cbir embed, features, bow), the notebook's features.pkl, or a .npy matrix"],
  out: ['DIR', 'where the plots, summary.json and assignments.csv go'],
  k: ['RANGE', 'the k of the elbow: a range (4..9) or a list (4,6,8)'],
  silhouette: ['RANGE', 'the k of the silhouette figures'],
  scatter: ['pca|dims', "the scatter's axes: two principal components, or the first two features (the notebook's)"],
  'mini-batch': 'MiniBatchKMeans instead of KMeans (for large files)',
  'n-init': ['N', "k-means++ starts per k (scikit-learn 1.2's default)"],
  batch: ['N', 'rows per step with --mini-batch'],
  seed: ['N', "the seed (numpy's RandomState; the same seed gives scikit-learn's clusters)"],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir cluster --features FILE --out DIR [--k 4..9] [--silhouette 3..9] [--scatter pca|dims] [--mini-batch]
                    [--n-init 10] [--batch 1024] [--seed 0] [--json]

Clusters features (a cbir feature file from cbir embed, features or bow; the notebook's features.pkl; a .npy matrix)
as the notebook's exploration section does:
  - the elbow method over --k: distortion and inertia, plotted (elbow.svg/.png);
  - for each k of --silhouette: the silhouette score and the notebook's two-panel figure (silhouette-K.svg/.png: the
    silhouette plot beside the clustered data), and the clustered data alone (clusters-K.svg/.png). --scatter dims
    plots the first two features, as the notebook does; pca (the default) the first two principal components, which
    read better for a wide latent;
  - summary.json (all numbers) and assignments.csv (each item's cluster for every k).
KMeans takes --n-init k-means++ starts (10, scikit-learn 1.2's default, as the notebook ran it) drawn from numpy's
RandomState(--seed), so the same seed gives scikit-learn's clusters for random_state=seed. --mini-batch uses
MiniBatchKMeans with --batch rows per step (for large files).

${flagList(OPTIONS, MEANINGS)}`;

export async function cluster(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  if (!values.features || !values.out) throw new UsageError(`--features and --out are required.\n\n${HELP}`);
  const print = progressPrinter(values.json!);
  // The plots need vega and vega-lite (optional dependencies): say so now, not after the work.
  await initNodeBackend();
  const ks = parseIntRange('k', values.k!);
  const silhouetteKs = parseIntRange('silhouette', values.silhouette!);
  if (values.scatter !== 'pca' && values.scatter !== 'dims')
    throw new UsageError(`--scatter must be pca or dims, got "${values.scatter}".`);
  const f = await loadFeatures(values.features);
  const x = f.matrix;
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const estimator = { nInit: Number(values['n-init']), batchSize: Number(values.batch), seed: Number(values.seed) };
  const miniBatch = values['mini-batch']!;
  const started = Date.now();

  const curve = elbow(x, { ks, miniBatch, estimator });
  for (const p of curve)
    print({ stage: 'elbow', k: p.k, distortion: p.distortion, inertia: p.inertia, nIter: p.nIter });
  await writePlot(
    elbowPlotSpec(curve, { title: `The elbow method (${x.rows} items, dim ${x.cols})` }),
    join(out, 'elbow'),
  );

  const fitted = new Map<number, Pick<ElbowPoint, 'labels' | 'centroids'>>(curve.map((p) => [p.k, p]));
  const projection = values.scatter === 'dims' ? firstTwoFeatures() : await project2d(x, Number(values.seed));
  const axes = values.scatter === 'dims' ? {} : { xTitle: 'PC 1', yTitle: 'PC 2' };
  const silhouettes: { k: number; score: number }[] = [];
  for (const k of silhouetteKs) {
    if (k < 2 || k >= x.rows)
      throw new UsageError(`--silhouette: k = ${k}; the silhouette needs 2 <= k < ${x.rows} (the number of items).`);
    let model = fitted.get(k);
    if (!model) {
      const m = miniBatch
        ? new MiniBatchKMeans({ ...estimator, nClusters: k }).fit(x)
        : new KMeans({ ...estimator, nClusters: k }).fit(x);
      model = { labels: m.labels, centroids: m.centroids };
      fitted.set(k, model);
    }
    const samples = silhouetteSamples(x, model.labels);
    const score = samples.reduce((a, b) => a + b, 0) / samples.length;
    silhouettes.push({ k, score });
    print({ stage: 'silhouette', k, score });
    const points = projection.apply(x);
    const centres = projection.apply(model.centroids);
    await writePlot(
      silhouetteAnalysisSpec(samples, model.labels, points, centres, {
        ...axes,
        estimator: miniBatch ? 'MiniBatchKMeans' : 'KMeans',
      }),
      join(out, `silhouette-${k}`),
    );
    await writePlot(
      clusterScatterSpec(points, model.labels, centres, { title: `Clusters, k = ${k}`, ...axes }),
      join(out, `clusters-${k}`),
    );
  }

  const allKs = [...fitted.keys()].sort((a, b) => a - b);
  await writeAssignments(
    join(out, 'assignments.csv'),
    f.ids,
    f.labels,
    allKs.map((k) => ({ k, labels: fitted.get(k)!.labels })),
  );
  const best = silhouettes.reduce<{ k: number; score: number } | undefined>(
    (a, b) => (!a || b.score > a.score ? b : a),
    undefined,
  );
  const summary = {
    features: resolve(values.features),
    rows: x.rows,
    cols: x.cols,
    estimator: miniBatch ? 'MiniBatchKMeans' : 'KMeans',
    ...estimator,
    elbow: curve.map(({ k, distortion, inertia, nIter }) => ({ k, distortion, inertia, nIter })),
    silhouette: silhouettes,
    bestSilhouetteK: best?.k,
    seconds: (Date.now() - started) / 1000,
  };
  await writeFileAtomic(join(out, 'summary.json'), Buffer.from(JSON.stringify(summary, null, 2) + '\n'));
  if (values.json) print({ stage: 'done', ...summary });
  else {
    console.log(`k   distortion   inertia${silhouettes.length ? '        silhouette' : ''}`);
    for (const k of allKs) {
      const p = curve.find((c) => c.k === k);
      const s = silhouettes.find((c) => c.k === k);
      console.log(
        `${String(k).padEnd(3)} ${p ? p.distortion.toFixed(4).padStart(10) : ''.padStart(10)}   ${p ? p.inertia.toExponential(4) : ''.padStart(10)}   ${s ? s.score.toFixed(4) : ''}`,
      );
    }
    console.log(
      `wrote plots, summary.json and assignments.csv to ${out}${best ? ` (best silhouette at k = ${best.k})` : ''}`,
    );
  }
}

/** The notebook's view: the first two features (a single-feature matrix is drawn on a line). */
function firstTwoFeatures(): { apply: (m: Matrix) => Float32Array } {
  return {
    apply(m) {
      const out = new Float32Array(m.rows * 2);
      for (let i = 0; i < m.rows; i++) {
        out[i * 2] = m.data[i * m.cols];
        out[i * 2 + 1] = m.cols > 1 ? m.data[i * m.cols + 1] : 0;
      }
      return out;
    },
  };
}

/** Rows the 2-D projection is fitted on at most (its PCA holds an n x n Gram matrix). */
const PCA_SAMPLE = 4000;

/** The first two principal components of `x` (fitted on a sample of rows), as a projection of any matrix with the same columns. */
async function project2d(x: Matrix, seed: number): Promise<{ apply: (m: Matrix) => Float32Array }> {
  const dims = Math.min(2, x.cols);
  let fitOn = x;
  if (x.rows > PCA_SAMPLE) {
    fitOn = selectRows(x, new Rng(seed).shuffle(Array.from({ length: x.rows }, (_, i) => i)).slice(0, PCA_SAMPLE));
  }
  const pca = await new PCA({ nComponents: dims, randomState: seed }).fit(fitOn);
  return {
    apply(m) {
      const p = pca.transform(m);
      if (dims === 2) return p.data;
      const out = new Float32Array(m.rows * 2); // one feature: the second axis is 0
      for (let i = 0; i < m.rows; i++) out[i * 2] = p.data[i];
      return out;
    },
  };
}

/** assignments.csv: `id,label,k2,k3,...`, one row per item in the feature file's order (what `cbir serve --clusters` reads). */
export async function writeAssignments(
  path: string,
  ids: readonly string[],
  labels: readonly (string | null | undefined)[],
  fits: readonly { k: number; labels: ArrayLike<number> }[],
): Promise<void> {
  const csv = [
    'id,label,' + fits.map((f) => `k${f.k}`).join(','),
    ...ids.map((id, i) => [csvField(id), csvField(labels[i] ?? ''), ...fits.map((f) => f.labels[i])].join(',')),
  ];
  await writeFileAtomic(path, Buffer.from(csv.join('\n') + '\n'));
}

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
