import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CbirError, embedImages, serializeFeatures, serializeReducer, writeNpy, type ReduceSpec } from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { directoryDataset } from '../dataset/directory-dataset.js';
import { EncoderPool } from '../encoder-pool.js';
import type { Fit } from '../image/sharp-decoder.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { loadModelArg, positiveInt, reducerPathFor } from './model-args.js';
import { progressPrinter } from './progress-bar.js';

const HELP = `Usage: cbir embed --model DIR|FILE.pt [--arch v1|v2 (v2)] [--size S (512)] --data DIR --out FILE
                  [--reduce none|avgpool|pca:N|rp:N] [--l2] [--batch 32] [--threads N] [--npy FILE] [--json]

Embeds every image of a folder with a trained model's encoder (same resize as training) and writes a feature file
(--out; ids, labels, float32 matrix, checksum). --model is a folder from cbir train, or a PyTorch weight file (the
notebook's .pt checkpoints, a state dict, safetensors) read into --arch at --size. --npy also writes the matrix as
.npy for Python. The fitted reducer is saved with the model (DIR/reducer.bin, or FILE.pt.reducer.bin) so queries
are embedded the same way.`;

export async function embed(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, arch: { type: 'string' }, size: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, reduce: { type: 'string', default: 'none' },
      l2: { type: 'boolean', default: false }, batch: { type: 'string', default: '32' }, threads: { type: 'string' },
      fit: { type: 'string', default: 'cover' }, npy: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  for (const k of ['model', 'data', 'out'] as const) if (!values[k]) throw new CbirError('INVALID_ARGUMENT', `--${k} is required.\n\n${HELP}`);
  const batchSize = positiveInt('batch', values.batch!);
  const threads = values.threads ? positiveInt('threads', values.threads) : availableParallelism();
  const print = progressPrinter(values.json!);
  await initNodeBackend();
  const modelPath = resolve(values.model!);
  const { model, isDir } = await loadModelArg(modelPath, { arch: values.arch, size: values.size });
  const data = await directoryDataset(resolve(values.data!), { size: model.inputSize, fit: values.fit as Fit });
  const pool = await EncoderPool.create(model, { threads });
  try {
    const started = Date.now();
    const features = await embedImages(model, data, {
      batchSize, reduce: values.reduce as ReduceSpec, l2: values.l2, onProgress: print,
      encode: (pixels, n) => pool.encode(pixels, n),
    });
    const seconds = (Date.now() - started) / 1000;
    const metadata = { model: modelPath, architecture: model.architecture.name, inputSize: model.inputSize, reduce: values.reduce, l2: values.l2 };
    await writeFileAtomic(resolve(values.out!), serializeFeatures({ ...features, paths: features.ids.map((id) => join(data.root, id)), metadata }));
    await writeFileAtomic(reducerPathFor(modelPath, isDir), serializeReducer(features.reducer));
    if (values.npy) await writeFileAtomic(resolve(values.npy), writeNpy(features.matrix.data, [features.matrix.rows, features.matrix.cols]));
    print({ stage: 'done', rows: features.matrix.rows, cols: features.matrix.cols, skipped: features.skipped.length, seconds, out: values.out });
    if (!values.json) {
      process.stderr.write('\n');
      console.log(`wrote ${features.matrix.rows} x ${features.matrix.cols} features to ${values.out} in ${seconds.toFixed(1)} s` +
        (features.skipped.length ? ` (${features.skipped.length} files skipped: ${features.skipped.join(', ')})` : ''));
    }
  } finally {
    await pool.close();
    model.dispose();
  }
}
