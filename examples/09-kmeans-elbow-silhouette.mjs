// Notebook step: KMeans on the features, the elbow method (distortion and inertia) and silhouette analysis, plotted.
// Usage: node examples/09-kmeans-elbow-silhouette.mjs [--data DIR] [--quick]
import { join } from 'node:path';
import { KMeans, elbow, elbowPlotSpec, silhouetteSamples, silhouettePlotSpec, writePlot } from 'cbir-node';
import { out, quick } from './_shared.mjs';
import { features } from './_model.mjs';

const x = features.matrix;
const curve = elbow(x, { ks: quick ? [2, 3, 4] : [4, 5, 6, 7, 8, 9, 10], estimator: { nInit: quick ? 1 : 10, seed: 0 } });
for (const p of curve) console.log(`k=${p.k}: distortion ${p.distortion.toFixed(4)}, inertia ${p.inertia.toExponential(4)}`);
await writePlot(elbowPlotSpec(curve), join(out, 'elbow'));
for (const k of quick ? [3] : [4, 6, 8, 10]) {
  const km = new KMeans({ nClusters: k, nInit: quick ? 1 : 10, seed: 0 }).fit(x);
  const s = silhouetteSamples(x, km.labels);
  const avg = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`k=${k}: silhouette ${avg.toFixed(4)}`);
  await writePlot(silhouettePlotSpec(s, km.labels), join(out, `silhouette-${k}`));
}
console.log(`plots in ${out}`);
