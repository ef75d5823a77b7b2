import { existsSync } from 'node:fs';
import { BlockExtractor, CosineIndex, DiffusionReranker, evaluateRetrieval, extractDataset } from 'cbir-core';
import { directoryDataset, initNodeBackend, loadFeatures, ParallelExtractor, saveFeatures } from 'cbir-node';
await initNodeBackend();
const file = '/tmp/wang-fused.cbirfeat';
if (!existsSync(file)) {
  const data = await directoryDataset('/work/shared/datasets/wang1k', { size: 'original' });
  const fx = await ParallelExtractor.create(new BlockExtractor().spec());
  const f = await extractDataset(data, fx); await fx.close();
  await saveFeatures(f, file);
}
const f = await loadFeatures(file);
const index = new CosineIndex(f.matrix.cols); index.add(f.matrix);
const ids = index.idList();
const first = index.search(f.matrix, 21);
for (const tol of [1e-6, 1e-4, 1e-3, 1e-2]) {
  let t = performance.now();
  const rr = DiffusionReranker.build(index, { tol });
  const build = performance.now() - t;
  t = performance.now();
  for (let q = 0; q < f.matrix.rows; q++) rr.rerank(f.matrix.data.subarray(q * f.matrix.cols, (q + 1) * f.matrix.cols), { ids: first.ids.subarray(q * 21, (q + 1) * 21), distances: first.distances.subarray(q * 21, (q + 1) * 21) }, 10, q);
  const per = (performance.now() - t) / f.matrix.rows;
  const r = evaluateRetrieval(index, { matrix: f.matrix, ids, labels: f.labels }, [10], { reranker: rr });
  console.log(tol, 'build ms', build.toFixed(0), 'per query ms', per.toFixed(3), 'iters', rr.iterations, 'edges', rr.edges, 'P@10', r.precisionAtK[10].toFixed(4), 'mAP', r.meanAveragePrecision.toFixed(4));
}
