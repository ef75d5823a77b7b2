// Notebook step: load the checkpoint the notebook saved with torch.save and reconstruct an image.
// Usage: node examples/02-load-pytorch-checkpoint.mjs [--checkpoint FILE.pth] (default: the committed V1 test checkpoint)
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConvAutoencoder, initNodeBackend, loadTorchWeights } from 'cbir-node';
import { checkpoint } from './_shared.mjs';

const path =
  checkpoint ?? fileURLToPath(new URL('../packages/core/test/fixtures/models/v1-checkpoint.pth', import.meta.url));
await initNodeBackend();
const ae = new ConvAutoencoder({ inputSize: 128 });
const info = loadTorchWeights(ae, new Uint8Array(await readFile(path)), { source: path });
console.log(`${info.format}: epoch ${info.epoch}, loss ${info.loss}, ${info.loaded.length} tensors`);
const x = tf.randomUniform([1, 128, 128, 3], -1, 1);
const y = ae.reconstruct(x);
const mean = tf.tidy(() => tf.mean(y).dataSync()[0]);
console.log('reconstruction', y.shape, 'mean', mean.toFixed(4));
tf.dispose([x, y]);
