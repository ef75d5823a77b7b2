// Notebook step: search with new images that are not in the index (embedded with the same encoder and pipeline).
// Usage: node examples/07-search-new-images.mjs [--data DIR --queries DIR] [--quick]
import { join } from 'node:path';
import { ExactEuclideanIndex, directoryDataset, embedImages } from 'cbir-node';
import { size } from './_shared.mjs';
import { features, folders, metadata, model } from './_model.mjs';

if (!folders.queries) throw new Error('give --queries DIR (images not in --data) to query with');
const queries = await directoryDataset(folders.queries, { size });
const q = await embedImages(model, queries, { reducer: features.reducer }); // the reducer fitted on the collection
const index = new ExactEuclideanIndex(features.matrix.cols);
index.add(features.matrix, undefined, metadata);
const k = 5;
const res = index.search(q.matrix, k); // one batched search for every query
let agree = 0;
q.ids.forEach((id, i) => {
  const labels = Array.from(res.ids.subarray(i * k, (i + 1) * k), (r) => index.metadata(r)?.label);
  agree += labels.filter((l) => l === q.labels[i]).length;
  console.log(`${join(queries.root, id)} (${q.labels[i]}): ${labels.join(', ')}`);
});
console.log(`P@${k} over ${q.ids.length} new images: ${(agree / (k * q.ids.length)).toFixed(3)}`);
