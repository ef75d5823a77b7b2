// Notebook step: locality-sensitive hashing (lshashpy3's LSHash(hash_size, input_dim, num_hashtables)) and its recall
// against exact search.
// Usage: node examples/08-lsh.mjs [--data DIR] [--quick]
import { ExactEuclideanIndex, LSHIndex, recallAtK } from 'cbir-node';
import { features } from './_model.mjs';

const x = features.matrix;
const exact = new ExactEuclideanIndex(x.cols);
exact.add(x);
const k = 10;
const truth = exact.search(x, k);
for (const [label, opts] of [
  ["lshashpy3's setting: 12 bits x 5 tables, hamming", { hashSize: 12, numHashtables: 5 }],
  ['8 bits x 8 tables, centred, radius-1 probes', { hashSize: 8, numHashtables: 8, centre: true }],
]) {
  const lsh = new LSHIndex({ inputDim: x.cols, seed: 0, ...opts });
  lsh.add(x);
  const t = performance.now();
  const approx = lsh.search(x, k);
  const ms = (performance.now() - t) / x.rows;
  const candidates = lsh.lastCandidates.reduce((a, b) => a + b, 0) / lsh.lastCandidates.length;
  console.log(
    `${label}: recall@${k} ${recallAtK(approx, truth, k).toFixed(3)}, ${candidates.toFixed(0)} candidates scanned per query, ${ms.toFixed(3)} ms/query`,
  );
}
