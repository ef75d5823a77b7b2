import { CbirError } from '../errors.js';

/**
 * A Vega-Lite specification (https://vega.github.io/vega-lite/): plain JSON. Core builds the specs; cbir-node renders
 * them to SVG and PNG (`writePlot`), and a web page can show them with vega-embed.
 */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const WIDTH = 360;
const HEIGHT = 260;

/**
 * The elbow plot as the notebook draws it: distortion against k and inertia against k, side by side, blue lines with
 * point markers. Look for the k where the curve bends.
 *
 * @example
 * ```ts
 * await writePlot(elbowPlotSpec(elbow(x, { ks: [4, 5, 6, 7, 8, 9] })), 'out/elbow');  // out/elbow.svg, out/elbow.png
 * ```
 */
export function elbowPlotSpec(
  points: readonly { k: number; distortion: number; inertia: number }[],
  options: { title?: string } = {},
): VegaLiteSpec {
  if (!points.length)
    throw new CbirError('INVALID_ARGUMENT', 'elbowPlotSpec: no points; run elbow() with at least one k.');
  const panel = (field: 'distortion' | 'inertia', title: string): VegaLiteSpec => ({
    width: WIDTH,
    height: HEIGHT,
    title,
    mark: { type: 'line', point: { shape: 'cross', size: 80 }, color: '#1f77b4' },
    encoding: {
      x: { field: 'k', type: 'quantitative', title: 'k', axis: { tickMinStep: 1 }, scale: { zero: false } },
      y: {
        field,
        type: 'quantitative',
        title: field === 'distortion' ? 'Distortion' : 'Inertia',
        scale: { zero: false },
      },
    },
  });
  return {
    $schema: SCHEMA,
    title: options.title ?? 'The elbow method',
    data: { values: points.map(({ k, distortion, inertia }) => ({ k, distortion, inertia })) },
    hconcat: [
      panel('distortion', 'Distortion (mean distance to the nearest centre)'),
      panel('inertia', 'Inertia (sum of squared distances)'),
    ],
    config: { font: 'sans-serif' },
  };
}

/**
 * The silhouette plot as scikit-learn's example and the notebook draw it: for each cluster, its members' silhouette
 * coefficients sorted and drawn as a filled horizontal profile, clusters stacked with gaps, the cluster number beside
 * each, and the average as a red dashed line. Long clusters are thinned to at most `maxPerCluster` drawn values
 * (their shape is kept).
 *
 * @param samples - `silhouetteSamples(x, labels)`.
 * @param labels - The cluster of each row.
 *
 * @example
 * ```ts
 * const s = silhouetteSamples(x, km.labels);
 * await writePlot(silhouettePlotSpec(s, km.labels), 'out/silhouette');
 * ```
 */
export function silhouettePlotSpec(
  samples: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: { title?: string; maxPerCluster?: number } = {},
): VegaLiteSpec {
  if (samples.length !== labels.length || samples.length === 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `silhouettePlotSpec: ${samples.length} samples and ${labels.length} labels; give one label per sample.`,
    );
  }
  const maxPer = options.maxPerCluster ?? 400;
  const byCluster = new Map<number, number[]>();
  for (let i = 0; i < samples.length; i++) {
    const list = byCluster.get(labels[i]) ?? [];
    list.push(samples[i]);
    byCluster.set(labels[i], list);
  }
  const gap = Math.max(10, Math.round(samples.length / 50));
  const values: { cluster: string; y: number; s: number }[] = [];
  const names: { cluster: string; y: number }[] = [];
  let y0 = gap;
  let mean = 0;
  for (const c of [...byCluster.keys()].sort((a, b) => a - b)) {
    const s = byCluster.get(c)!.sort((a, b) => a - b);
    const step = Math.max(1, Math.ceil(s.length / maxPer));
    for (let i = 0; i < s.length; i += step) values.push({ cluster: String(c), y: y0 + i, s: s[i] });
    values.push({ cluster: String(c), y: y0 + s.length - 1, s: s[s.length - 1] });
    names.push({ cluster: String(c), y: y0 + s.length / 2 });
    mean += s.reduce((a, b) => a + b, 0);
    y0 += s.length + gap;
  }
  mean /= samples.length;
  const xScale = { domain: [Math.min(-0.1, ...values.map((v) => v.s)), 1] };
  return {
    $schema: SCHEMA,
    title: options.title ?? `Silhouette plot (${byCluster.size} clusters, average ${mean.toFixed(3)})`,
    width: WIDTH,
    height: HEIGHT + 80,
    layer: [
      {
        data: { values },
        mark: { type: 'area', orient: 'horizontal', opacity: 0.75, clip: true },
        encoding: {
          y: { field: 'y', type: 'quantitative', title: 'Cluster label', axis: null, scale: { domain: [0, y0] } },
          x: {
            field: 's',
            type: 'quantitative',
            title: 'The silhouette coefficient values',
            scale: xScale,
            stack: null,
          },
          color: { field: 'cluster', type: 'nominal', legend: null, scale: { scheme: 'tableau10' } },
          detail: { field: 'cluster' },
        },
      },
      {
        data: { values: names },
        mark: { type: 'text', dx: -12, fontSize: 11 },
        encoding: { y: { field: 'y', type: 'quantitative' }, x: { datum: 0 }, text: { field: 'cluster' } },
      },
      {
        data: { values: [{ mean }] },
        mark: { type: 'rule', color: 'red', strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 'mean', type: 'quantitative' } },
      },
    ],
    config: { font: 'sans-serif' },
  };
}

/**
 * The 2-D cluster scatter as the notebook draws it: each point coloured by its cluster, the centres as white circles
 * with their number. Give 2-D coordinates (e.g. the first two principal components of the features, and the centres
 * projected the same way).
 *
 * @param points - `[n, 2]` row-major coordinates.
 * @param centres - `[k, 2]` row-major coordinates of the centres, or undefined.
 *
 * @example
 * ```ts
 * const xy = new Float32Array([0, 0, 1, 1, 5, 5]);            // [n, 2] coordinates
 * await writePlot(clusterScatterSpec(xy, [0, 0, 1], [0.5, 0.5, 5, 5]), 'out/clusters');
 * ```
 */
export function clusterScatterSpec(
  points: ArrayLike<number>,
  labels: ArrayLike<number>,
  centres?: ArrayLike<number>,
  options: { title?: string; xTitle?: string; yTitle?: string } = {},
): VegaLiteSpec {
  if (points.length !== 2 * labels.length) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `clusterScatterSpec: ${points.length / 2} points and ${labels.length} labels; give [n, 2] coordinates and n labels.`,
    );
  }
  const values = Array.from(labels, (l, i) => ({ x: points[2 * i], y: points[2 * i + 1], cluster: String(l) }));
  const layers: VegaLiteSpec[] = [
    {
      data: { values },
      mark: { type: 'circle', size: 18, opacity: 0.7 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.xTitle ?? 'Feature space, 1st component' },
        y: { field: 'y', type: 'quantitative', title: options.yTitle ?? 'Feature space, 2nd component' },
        color: { field: 'cluster', type: 'nominal', title: 'Cluster', scale: { scheme: 'tableau10' } },
      },
    },
  ];
  if (centres) {
    const c = Array.from({ length: centres.length / 2 }, (_, i) => ({
      x: centres[2 * i],
      y: centres[2 * i + 1],
      cluster: String(i),
    }));
    layers.push(
      {
        data: { values: c },
        mark: { type: 'circle', size: 300, color: 'white', stroke: 'black', strokeWidth: 1, opacity: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: c },
        mark: { type: 'text', fontSize: 11, fontWeight: 'bold' },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          text: { field: 'cluster' },
        },
      },
    );
  }
  return {
    $schema: SCHEMA,
    title: options.title ?? `Clusters (${new Set(values.map((v) => v.cluster)).size})`,
    width: WIDTH,
    height: HEIGHT + 80,
    layer: layers,
    config: { font: 'sans-serif' },
  };
}

/**
 * The notebook's silhouette analysis figure for one k, as one picture: on the left the silhouette plot
 * ({@link silhouettePlotSpec}: each cluster's sorted coefficients, the average as a red dashed line), on the right the
 * clustered data ({@link clusterScatterSpec}: points coloured by cluster, centres as numbered white circles), under the
 * notebook's title "Silhouette analysis for KMeans clustering on sample data with n_clusters = k".
 *
 * @param samples - `silhouetteSamples(x, labels)`.
 * @param labels - The cluster of each row.
 * @param points - `[n, 2]` coordinates of the rows (the first two features, as the notebook plots, or two principal
 *   components).
 * @param centres - `[k, 2]` coordinates of the centres, in the same space.
 * @param options - `xTitle`/`yTitle`: the scatter's axes. @defaultValue the notebook's ("Feature space for the 1st
 *   feature", "... 2nd feature")
 *
 * @example
 * ```ts
 * const km = new KMeans({ nClusters: 4, randomState: 10 }).fit(x);   // x: Matrix [n, dim]
 * const firstTwo = (m: Matrix) => Float32Array.from({ length: m.rows * 2 }, (_, i) => m.data[(i >> 1) * m.cols + (i & 1)]);
 * const xy = firstTwo(x), c = firstTwo(km.centroids);                 // [n, 2] and [k, 2]: the notebook's view
 * await writePlot(silhouetteAnalysisSpec(silhouetteSamples(x, km.labels), km.labels, xy, c), 'out/silhouette-4');
 * ```
 */
export function silhouetteAnalysisSpec(
  samples: ArrayLike<number>,
  labels: ArrayLike<number>,
  points: ArrayLike<number>,
  centres: ArrayLike<number>,
  options: { xTitle?: string; yTitle?: string; estimator?: string } = {},
): VegaLiteSpec {
  const k = centres.length / 2;
  const inner = (spec: VegaLiteSpec, title: string): VegaLiteSpec => {
    const { $schema: _schema, config: _config, ...rest } = spec;
    return { ...rest, title };
  };
  return {
    $schema: SCHEMA,
    title: {
      text: `Silhouette analysis for ${options.estimator ?? 'KMeans'} clustering on sample data with n_clusters = ${k}`,
      fontSize: 15,
      anchor: 'middle',
    },
    hconcat: [
      inner(silhouettePlotSpec(samples, labels), 'The silhouette plot for the various clusters.'),
      inner(
        clusterScatterSpec(points, labels, centres, {
          xTitle: options.xTitle ?? 'Feature space for the 1st feature',
          yTitle: options.yTitle ?? 'Feature space for the 2nd feature',
        }),
        'The visualization of the clustered data.',
      ),
    ],
    resolve: { scale: { color: 'independent' } },
    config: { font: 'sans-serif' },
  };
}

/**
 * Training curves: the training and validation loss (MSE) per epoch, as the notebook plots them after training.
 *
 * @example
 * ```ts
 * const { history } = await trainAutoencoder(model, data, { epochs: 10 });
 * await writePlot(trainingCurveSpec(history), 'report/training');
 * ```
 */
export function trainingCurveSpec(
  history: readonly { epoch: number; trainLoss: number; valLoss: number }[],
  options: { title?: string } = {},
): VegaLiteSpec {
  if (!history.length)
    throw new CbirError(
      'INVALID_ARGUMENT',
      'trainingCurveSpec: no epochs in the history; train for at least one epoch.',
    );
  const values = history.flatMap((h) => [
    { epoch: h.epoch + 1, loss: h.trainLoss, split: 'train' },
    { epoch: h.epoch + 1, loss: h.valLoss, split: 'validation' },
  ]);
  return {
    $schema: SCHEMA,
    title: options.title ?? 'Training curves (MSE)',
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1 } },
      y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { zero: false } },
      color: { field: 'split', type: 'nominal', title: null, scale: { range: ['#1f77b4', '#ff7f0e'] } },
    },
    config: { font: 'sans-serif' },
  };
}
