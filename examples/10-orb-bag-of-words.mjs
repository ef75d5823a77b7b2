// Notebook step: ORB descriptors, a bag-of-visual-words dictionary by MiniBatchKMeans, BoW histograms as features,
// and their retrieval quality next to a colour histogram's.
// Usage: node examples/10-orb-bag-of-words.mjs [--data DIR] [--quick]
import {
  BagOfVisualWords,
  ExactEuclideanIndex,
  colorHistogram,
  directoryDataset,
  evaluateRetrieval,
  extractFeatures,
  loadOpenCv,
  mapImages,
  orbDescriptors,
} from 'cbir-node';
import { dataset, quick } from './_shared.mjs';

const data = await directoryDataset((await dataset()).images, { size: 128 }); // ORB needs room: upscale small images
const cv = await loadOpenCv();
const orb = await mapImages(data, (image) => orbDescriptors(cv, image));
console.log(`${orb.values.reduce((a, d) => a + d.length / 32, 0)} ORB descriptors from ${orb.ids.length} images`);
const bow = new BagOfVisualWords({ k: quick ? 16 : 100, seed: 0 }).fit(orb.values);
const rows = [
  ['ORB bag of visual words', bow.transform(orb.values)],
  ['colour histogram (HSV 8x12x3)', (await extractFeatures(data, (im) => colorHistogram(im))).matrix],
];
for (const [name, matrix] of rows) {
  const index = new ExactEuclideanIndex(matrix.cols);
  index.add(matrix);
  const report = evaluateRetrieval(index, { matrix, ids: orb.ids.map((_, i) => i), labels: orb.labels }, [10]);
  console.log(`${name}: P@10 ${report.precisionAtK[10].toFixed(3)}, mAP ${report.meanAveragePrecision.toFixed(3)}`);
}
