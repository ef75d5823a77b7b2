// Notebook step: Euclidean search for an indexed image and the result montage (build_montages).
// Usage: node examples/06-search-montage.mjs [--data DIR] [--quick]
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExactEuclideanIndex, buildMontage, searchHits } from 'cbir-node';
import { out } from './_shared.mjs';
import { features, metadata } from './_model.mjs';

const dim = features.matrix.cols;
const index = new ExactEuclideanIndex(dim);
index.add(features.matrix, undefined, metadata);
const q = 0;
const result = index.search({ data: features.matrix.data.subarray(q * dim, (q + 1) * dim), rows: 1, cols: dim }, 11);
const hits = searchHits(index, result).filter((h) => h.id !== q); // nearest first, with path and label
hits.forEach((h, j) => console.log(`#${j + 1} ${h.distance.toFixed(3)} ${h.label} ${h.path}`));
const png = await buildMontage([
  { path: metadata[q].path, caption: 'query', highlight: true },
  ...hits.map((h, j) => ({ path: h.path, caption: `#${j + 1} ${h.distance.toFixed(2)} ${h.label}` })),
]);
await writeFile(join(out, 'montage.png'), png);
console.log(`montage: ${join(out, 'montage.png')}`);
