import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { embedImages, readModelFingerprint, serializeFeatures, type ReduceSpec } from 'cbir-core';
import { writeNpy } from 'cbir-core/io';
import { initNodeBackend, directoryDataset, skippedNote, EncoderPool, type Fit, writeFileAtomic } from 'cbir-node';
import { loadModelArg, positiveInt, WEIGHT_FILE_MEANINGS } from '../model-args.js';
import { fileColumns } from '../image-features.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';
import { flagList, BACKEND_FLAG, BACKEND_MEANING, applyBackendFlag } from '../flags.js';

const OPTIONS = {
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  reduce: { type: 'string', default: 'none' },
  l2: { type: 'boolean', default: false },
  batch: { type: 'string', default: '32' },
  threads: { type: 'string' },
  fit: { type: 'string', default: 'cover' },
  npy: { type: 'string' },
  json: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  model: ['DIR|FILE.pt', 'a folder from cbir train, or a PyTorch weight file'],
  ...WEIGHT_FILE_MEANINGS,
  data: ['DIR', 'the folder of images (sub-folder names are labels)'],
  out: ['FILE', 'the feature file to write'],
  reduce: ['SPEC', 'none, avgpool, pca:N or rp:N: how the latent becomes a vector'],
  l2: 'L2-normalise the vectors',
  batch: ['N', 'images per encoder call'],
  threads: ['N', 'encoder threads (default: one per core)'],
  fit: ['cover|contain|fill', 'how a non-square image fits the square input'],
  npy: ['FILE', 'also write the matrix as .npy, for Python'],
  json: 'machine-readable output: one JSON object per line',
  ...BACKEND_MEANING,
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir embed --model DIR|FILE.pt [--arch v1|v2 (v2)] [--size S (512)] --data DIR --out FILE
                  [--reduce none|avgpool|pca:N|rp:N] [--l2] [--batch 32] [--threads N] [--npy FILE] [--json]

(The notebook's name for cbir features --kind autoencoder: the same command.)
Embeds every image of a folder with a trained model's encoder (same resize as training) and writes a feature file
(--out; ids, labels, float32 matrix, checksum). --model is a folder from cbir train, or a PyTorch weight file (the
notebook's .pt checkpoints, a state dict, safetensors) read into --arch at --size. --npy also writes the matrix as
.npy for Python. The feature file keeps what made it (the model's fingerprint and the fitted reducer), and so does
every index built from it: cbir search embeds queries the same way, and refuses a --model with other weights.

${flagList(OPTIONS, MEANINGS)}`;

export async function embed(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  applyBackendFlag(values.backend);
  for (const k of ['model', 'data', 'out'] as const)
    if (!values[k]) throw new UsageError(`--${k} is required.\n\n${HELP}`);
  const batchSize = positiveInt('batch', values.batch!);
  const threads = values.threads ? positiveInt('threads', values.threads) : availableParallelism();
  const print = progressPrinter(values.json!);
  const backend = await initNodeBackend();
  const modelPath = resolve(values.model!);
  const { model } = await loadModelArg(modelPath, { arch: values.arch, size: values.size });
  const data = await directoryDataset(resolve(values.data!), { size: model.inputSize, fit: values.fit as Fit });
  if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
  // Worker threads each run their own wasm backend: on a GPU the main thread's backend does the work.
  const pool = await EncoderPool.create(model, { threads: backend.name === 'webgpu' ? 1 : threads });
  try {
    const started = Date.now();
    const features = await embedImages(model, data, {
      batchSize,
      reduce: values.reduce as ReduceSpec,
      l2: values.l2,
      onProgress: print,
      encode: (pixels, n) => pool.encode(pixels, n),
    });
    const seconds = (Date.now() - started) / 1000;
    const metadata = {
      model: modelPath,
      architecture: model.architecture.name,
      inputSize: model.inputSize,
      reduce: values.reduce,
      l2: values.l2,
    };
    const pipeline = {
      architecture: model.architecture.name,
      inputSize: model.inputSize,
      model: await readModelFingerprint(model),
      reducer: features.reducer,
    };
    const files = await fileColumns(features.ids, data.root, { onProgress: print });
    await writeFileAtomic(resolve(values.out!), serializeFeatures({ ...features, ...files, metadata, pipeline }));
    if (values.npy)
      await writeFileAtomic(
        resolve(values.npy),
        writeNpy(features.matrix.data, [features.matrix.rows, features.matrix.cols]),
      );
    print({
      stage: 'done',
      rows: features.matrix.rows,
      cols: features.matrix.cols,
      skipped: features.skipped.length,
      seconds,
      out: values.out,
    });
    if (!values.json) {
      process.stderr.write('\n');
      console.log(
        `wrote ${features.matrix.rows} x ${features.matrix.cols} features to ${values.out} in ${seconds.toFixed(1)} s` +
          (features.skipped.length
            ? ` (${features.skipped.length} files skipped: ${features.skipped.join(', ')})`
            : ''),
      );
    }
  } finally {
    await pool.close();
    model.dispose();
  }
}
