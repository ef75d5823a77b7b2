// Notebook step: extract features with the encoder and index them; save both (features file and index file).
// Usage: node examples/05-index-features.mjs [--data DIR] [--quick]
import { join } from 'node:path';
import { ExactEuclideanIndex, saveFeatures, saveIndex } from 'cbir-node';
import { out } from './_shared.mjs';
import { data, features, metadata } from './_model.mjs';

console.log(`features: ${features.matrix.rows} x ${features.matrix.cols}, skipped ${features.skipped.length}`);
const index = new ExactEuclideanIndex(features.matrix.cols);
index.add(features.matrix, undefined, metadata);
await saveFeatures({ ...features, paths: metadata.map((m) => m.path) }, join(out, 'features.cbirfeat'));
await saveIndex(index, join(out, 'exact.cbirindex'));
console.log(`indexed ${index.size} images from ${data.root}; wrote ${join(out, 'exact.cbirindex')}`);
