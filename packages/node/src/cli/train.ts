import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CbirError, ConvAutoencoder, ConvAutoencoderV2, deserializeCheckpoint, serializeCheckpoint, trainAutoencoder, type Checkpoint } from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { directoryDataset } from '../dataset/directory-dataset.js';
import type { Fit } from '../image/sharp-decoder.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { saveModel } from '../io/model-files.js';
import { progressPrinter } from './progress-bar.js';

const HELP = `Usage: cbir train --data DIR [--model v1|v2] [--size S] [--epochs E (10)] [--batch 32] [--lr 3e-4] [--seed 0]
                  [--fit cover|contain|fill] [--out DIR] [--resume] [--json]

Trains ConvAutoencoder (v1) or ConvAutoencoderV2 (v2) on a folder of images (sub-folder names are labels), as the
notebook does: MSE, Adam, an 85/15 split by --seed. Writes to --out: model.json + weights.bin (the best validation
loss so far, tfjs format), last.ckpt (to resume), history.json.
Ctrl-C stops at the next batch with a checkpoint; --resume continues from --out/last.ckpt.
Exit codes: 0 done, 1 error, 2 bad arguments, 130 stopped by Ctrl-C (resumable).`;

/** Exit code of a run stopped by SIGINT with a checkpoint written. */
export const EXIT_INTERRUPTED = 130;

export async function train(argv: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, model: { type: 'string', default: 'v1' }, size: { type: 'string', default: '128' },
      epochs: { type: 'string' }, batch: { type: 'string', default: '32' }, lr: { type: 'string', default: '3e-4' },
      seed: { type: 'string', default: '0' }, fit: { type: 'string', default: 'cover' }, out: { type: 'string', default: 'cbir-model' },
      resume: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  if (!values.data) throw new CbirError('INVALID_ARGUMENT', '--data DIR is required: a folder of images.');
  if (values.model !== 'v1' && values.model !== 'v2') throw new CbirError('INVALID_ARGUMENT', `--model must be v1 or v2, got "${values.model}".`);
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new CbirError('INVALID_ARGUMENT', `--${name} must be a number, got "${v}".`);
    return n;
  };
  const out = resolve(values.out!);
  const ckptPath = join(out, 'last.ckpt');
  let resume: Checkpoint | undefined;
  if (values.resume) {
    if (!existsSync(ckptPath)) throw new CbirError('INVALID_ARGUMENT', `--resume: there is no checkpoint at ${ckptPath}. Run without --resume to start.`);
    resume = deserializeCheckpoint(new Uint8Array(await readFile(ckptPath)), ckptPath);
  }
  const size = resume?.inputSize ?? num('size', values.size!);
  const print = progressPrinter(values.json!);
  const backend = await initNodeBackend();
  print({ stage: 'backend', backend: backend.name });
  const data = await directoryDataset(resolve(values.data), { size, fit: values.fit as Fit });
  print({ stage: 'data', images: data.size, labels: data.labels.length, ignored: data.ignored.length });
  if (!values.json) console.log(`${data.size} images in ${data.labels.length} classes from ${values.data} (${data.ignored.length} other files ignored), backend ${backend.name}`);
  const arch = resume?.architecture ?? (values.model === 'v1' ? 'ConvAutoencoder' : 'ConvAutoencoderV2');
  const seed = num('seed', values.seed!);
  const model = arch === 'ConvAutoencoder' ? new ConvAutoencoder({ inputSize: size, seed }) : new ConvAutoencoderV2({ inputSize: size, seed });
  await mkdir(out, { recursive: true });

  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    console.error('\nstopping after this batch (Ctrl-C again to quit now)...');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await trainAutoencoder(model, data, {
      // A resumed run keeps its target unless --epochs says otherwise.
      epochs: values.epochs ? num('epochs', values.epochs) : (resume?.options.epochs ?? 10), batchSize: num('batch', values.batch!), lr: num('lr', values.lr!), seed,
      resume, signal: controller.signal, onProgress: print,
      onCheckpoint: async (c, kind) => {
        if (kind === 'best') await saveModel(model, out, { bestValLoss: c.bestValLoss, bestEpoch: c.bestEpoch, history: c.history });
        else await writeFileAtomic(ckptPath, serializeCheckpoint(c));
      },
    });
    await writeFile(join(out, 'history.json'), JSON.stringify(result.history, null, 1));
    print({ stage: 'done', stopped: result.stopped, bestValLoss: result.bestValLoss, bestEpoch: result.bestEpoch, skipped: result.checkpoint.skipped.map((i) => data.entry(i).id), out });
    if (!values.json) {
      console.log(result.stopped
        ? `stopped; checkpoint in ${ckptPath}. Resume with: cbir train --data ${values.data} --out ${values.out} --resume`
        : `done: best val loss ${result.bestValLoss.toFixed(6)} at epoch ${result.bestEpoch + 1}; model in ${out}`);
    }
    return result.stopped ? EXIT_INTERRUPTED : 0;
  } finally {
    process.off('SIGINT', onSigint);
    model.dispose();
  }
}
