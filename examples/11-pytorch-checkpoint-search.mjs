// Notebook step: load the notebook's PyTorch checkpoint (torch.save dict) and search the collection with its encoder.
// Usage: node examples/11-pytorch-checkpoint-search.mjs [--checkpoint autoencoder_checkpoint.pth --size S] [--data DIR]
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  ConvAutoencoder,
  ExactEuclideanIndex,
  directoryDataset,
  embedImages,
  initNodeBackend,
  loadTorchWeights,
} from 'cbir-node';
import { checkpoint, dataset } from './_shared.mjs';

await initNodeBackend();
// Default: the committed test checkpoint (a ConvAutoencoder saved by torch.save in the notebook's format).
const path =
  checkpoint ?? fileURLToPath(new URL('../packages/core/test/fixtures/models/v1-checkpoint.pth', import.meta.url));
const model = new ConvAutoencoder({ inputSize: 68 });
const info = loadTorchWeights(model, new Uint8Array(await readFile(path)), { source: path });
console.log(`${info.format} from ${path}: epoch ${info.epoch}, ${info.loaded.length} tensors`);
const data = await directoryDataset((await dataset()).images, { size: model.inputSize });
const f = await embedImages(model, data);
const index = new ExactEuclideanIndex(f.matrix.cols);
index.add(f.matrix);
const res = index.search({ data: f.matrix.data.subarray(0, f.matrix.cols), rows: 1, cols: f.matrix.cols }, 5);
console.log(
  `nearest to ${f.ids[0]}:`,
  Array.from(res.ids, (id, j) => `${f.ids[id]} (${res.distances[j].toFixed(3)})`).join(', '),
);
