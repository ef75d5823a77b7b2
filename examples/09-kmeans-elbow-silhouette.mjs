// Notebook step: KMeans on the features, the elbow method (distortion and inertia) and silhouette analysis over
// K = 3..9 with the notebook's two-panel figure (silhouette plot beside the clustered data on its first two features).
// Usage: node examples/09-kmeans-elbow-silhouette.mjs [--data DIR] [--quick]
import { join } from 'node:path';
import { KMeans, elbow, elbowPlotSpec, silhouetteAnalysisSpec, silhouetteSamples } from 'cbir-node';
import { writePlot } from 'cbir';
import { out, quick } from './_shared.mjs';
import { features } from './_model.mjs';

const x = features.matrix;
// KMeans(n_clusters=k, random_state=0) of scikit-learn 1.2: 10 k-means++ starts drawn from numpy's RandomState(0).
const curve = elbow(x, {
  ks: quick ? [2, 3, 4] : [4, 5, 6, 7, 8, 9],
  estimator: { nInit: quick ? 1 : 10, randomState: 0 },
});
for (const p of curve)
  console.log(`k=${p.k}: distortion ${p.distortion.toFixed(4)}, inertia ${p.inertia.toExponential(4)}`);
await writePlot(elbowPlotSpec(curve), join(out, 'elbow'));
const firstTwo = (m) => Float32Array.from({ length: m.rows * 2 }, (_, i) => m.data[(i >> 1) * m.cols + (i & 1)]);
for (const k of quick ? [3] : [3, 4, 5, 6, 7, 8, 9]) {
  const km = new KMeans({ nClusters: k, nInit: quick ? 1 : 10, randomState: 0 }).fit(x);
  const s = silhouetteSamples(x, km.labels);
  const avg = s.reduce((a, b) => a + b, 0) / s.length;
  console.log(`k=${k}: silhouette ${avg.toFixed(4)}`);
  await writePlot(
    silhouetteAnalysisSpec(s, km.labels, firstTwo(x), firstTwo(km.centroids)),
    join(out, `silhouette-${k}`),
  );
}
console.log(`plots in ${out}`);
