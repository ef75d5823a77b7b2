import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AbortedError,
  CbirError,
  chooseMicroBatch,
  deserializeCheckpoint,
  loadTorchWeights,
  serializeCheckpoint,
  trainAutoencoder,
  type AdamSnapshot,
  type Checkpoint,
  type TrainResult,
} from 'cbir-core';
import {
  initNodeBackend,
  formatAdapter,
  directoryDataset,
  skippedNote,
  type Fit,
  writeFileAtomic,
  saveModel,
} from 'cbir-node';
import { ARCHS, parseArch, positiveInt } from '../model-args.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';
import { flagList, BACKEND_FLAG, BACKEND_MEANING, applyBackendFlag } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';

const OPTIONS = {
  data: { type: 'string' },
  arch: { type: 'string' },
  model: { type: 'string' },
  size: { type: 'string', default: '128' },
  epochs: { type: 'string' },
  batch: { type: 'string', default: '32' },
  'micro-batch': { type: 'string' },
  lr: { type: 'string' },
  init: { type: 'string' },
  seed: { type: 'string', default: '0' },
  fit: { type: 'string', default: 'cover' },
  out: { type: 'string', default: 'cbir-model' },
  resume: { type: 'boolean', default: false },
  'data-changed': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (sub-folder names are labels)'],
  arch: ['v1|v2', "the network (default: v2, the notebook's ConvAutoencoder_v2)"],
  model: ['v1|v2', 'an older spelling of --arch'],
  size: ['S', 'the input size'],
  epochs: ['N', "epochs in all (default: 10, or a resumed run's own)"],
  batch: ['N', 'images per step'],
  'micro-batch': [
    'N',
    "images per forward and backward pass, the step's gradient summed over them (default: what fits the backend's memory)",
  ],
  lr: ['RATE', "Adam's learning rate (default: 3e-4, or --init's)"],
  init: ['FILE.pt', "start from a PyTorch checkpoint, Adam's state included"],
  seed: ['N', 'the seed of the split, shuffles and initial weights'],
  fit: ['cover|contain|fill', 'how a non-square image fits the square input'],
  out: ['DIR', 'the model folder'],
  resume: 'continue from --out/last.ckpt',
  'data-changed': 'with --resume: split a changed folder afresh',
  json: 'machine-readable output: one JSON object per line',
  ...BACKEND_MEANING,
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir train --data DIR [--arch v1|v2 (v2)] [--size S (128)] [--epochs E (10)] [--batch 32] [--lr 3e-4]
                  [--micro-batch N] [--seed 0] [--fit cover|contain|fill] [--out DIR]
                  [--init FILE.pt | --resume [--data-changed]] [--backend NAME] [--json]

Trains ConvAutoencoderV2 (v2, the notebook's ConvAutoencoder_v2) or ConvAutoencoder (v1) on a folder of images
(sub-folder names are labels), as the notebook does: MSE, Adam, an 85/15 split by --seed. Writes to --out:
model.json + weights-<crc>.bin (the best validation loss so far, tfjs format), last.ckpt (to resume), history.json.
--init starts from a PyTorch checkpoint (the notebook's .pt files, a state dict, safetensors), its Adam state
included when it has one (lr from the file unless --lr is given), as the notebook's RETRAIN does.
Ctrl-C stops at the next batch with a checkpoint; --resume continues from --out/last.ckpt, on the images it was
trained on (checked); --data-changed keeps its weights and Adam state and splits a changed folder afresh.
A batch that does not fit the backend's memory at once (32 at 512 px: about 27 GB) runs in micro-batches whose
gradients are summed: the same step to float rounding. --backend webgpu trains on a GPU (see the guide).
--model v1|v2 is an older spelling of --arch. cbir export writes the result back as a notebook checkpoint.
Exit codes: 0 done, 1 error, 2 bad arguments, 130 stopped by Ctrl-C (resumable).

${flagList(OPTIONS, MEANINGS)}`;

/** Exit code of a run stopped by SIGINT with a checkpoint written. */
export const EXIT_INTERRUPTED = 130;

export async function train(argv: string[]): Promise<number | void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  applyBackendFlag(values.backend);
  if (!values.data) throw new UsageError('--data DIR is required: a folder of images.');
  if (values.arch !== undefined && values.model !== undefined && values.arch !== values.model) {
    throw new UsageError(
      `--arch ${values.arch} and --model ${values.model} disagree; --model is an older spelling of --arch: pass one.`,
    );
  }
  const archName = parseArch(values.arch ?? values.model);
  if (values['data-changed'] && !values.resume)
    throw new UsageError('--data-changed applies to --resume: it says the folder changed since the checkpoint.');
  if (values.init && values.resume)
    throw new UsageError(
      "--init and --resume exclude each other: --init starts a run from a PyTorch checkpoint, --resume continues cbir's own.",
    );
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${v}".`);
    return n;
  };
  const epochsArg = values.epochs === undefined ? undefined : positiveInt('epochs', values.epochs);
  const batchSize = positiveInt('batch', values.batch!);
  const microArg = values['micro-batch'] === undefined ? undefined : positiveInt('micro-batch', values['micro-batch']);
  if (microArg !== undefined && microArg > batchSize)
    throw new UsageError(
      `--micro-batch ${microArg} is larger than --batch ${batchSize}: a micro-batch is part of a step.`,
    );
  const lrArg = values.lr === undefined ? undefined : num('lr', values.lr);
  const out = resolve(values.out!);
  const ckptPath = join(out, 'last.ckpt');
  let resume: Checkpoint | undefined;
  if (values.resume) {
    if (!existsSync(ckptPath))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `--resume: there is no checkpoint at ${ckptPath}. Run without --resume to start.`,
      );
    resume = deserializeCheckpoint(new Uint8Array(await readFile(ckptPath)), ckptPath);
  }
  const size = resume?.inputSize ?? positiveInt('size', values.size!);
  const print = progressPrinter(values.json!);
  const backend = await initNodeBackend();
  print({ stage: 'backend', backend: backend.name, adapter: backend.adapter });
  const data = await directoryDataset(resolve(values.data), { size, fit: values.fit as Fit });
  print({
    stage: 'data',
    images: data.size,
    labels: data.labels.length,
    ignored: data.ignored.length,
    skipped: data.skipped,
  });
  if (!values.json) {
    console.log(
      `${data.size} images in ${data.labels.length} classes from ${values.data} (${data.ignored.length} other files ignored), backend ${backend.name}${backend.adapter ? ` on ${formatAdapter(backend.adapter)}` : ''}`,
    );
    if (data.skipped.length) console.log(skippedNote(data));
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a non-negative integer, got "${values.seed}".`);
  const arch = resume ? (resume.architecture === 'ConvAutoencoder' ? 'v1' : 'v2') : archName;
  const model = ARCHS[arch](size, seed);
  // A resumed run keeps its batch; the micro-batch is this machine's choice (the step is the same either way).
  const stepSize = resume?.options.batchSize ?? batchSize;
  const microBatch = microArg ?? chooseMicroBatch(model, stepSize, backend.memory);
  if (microBatch < stepSize) {
    print({ stage: 'micro-batch', batch: stepSize, microBatch, chosen: microArg === undefined });
    if (!values.json)
      console.log(
        `batch ${stepSize} in micro-batches of ${microBatch}${microArg === undefined ? ` (what fits the ${backend.name} backend's memory; --micro-batch to choose)` : ''}`,
      );
  }
  let initialOptimizer: AdamSnapshot | undefined;
  if (values.init) {
    const info = loadTorchWeights(model, new Uint8Array(await readFile(resolve(values.init))), { source: values.init });
    initialOptimizer = info.optimizer;
    print({
      stage: 'init',
      file: values.init,
      format: info.format,
      epoch: info.epoch,
      adamStep: info.optimizer?.state.step,
      problems: info.problems,
    });
    if (!values.json) {
      console.log(
        `initialised from ${values.init} (${info.format}${info.epoch === undefined ? '' : `, epoch ${info.epoch}`}): ` +
          (info.optimizer
            ? `Adam continues from step ${info.optimizer.state.step}, lr ${info.optimizer.options.lr}`
            : 'no Adam state in the file, Adam starts afresh') +
          (info.problems.length ? ` (${info.problems.join('; ')})` : ''),
      );
    }
  }
  await mkdir(out, { recursive: true });

  const ctrlC = abortOnCtrlC('batch');
  try {
    let result: TrainResult;
    let stopped = false;
    try {
      result = await trainAutoencoder(model, data, {
        // A resumed run keeps its target unless --epochs says otherwise.
        epochs: epochsArg ?? resume?.options.epochs ?? 10,
        batchSize,
        microBatch,
        lr: lrArg,
        seed,
        resume,
        onDataChange: values['data-changed'] ? 'resplit' : 'error',
        initialOptimizer,
        signal: ctrlC.signal,
        onProgress: print,
        onCheckpoint: async (c, kind) => {
          if (kind === 'best')
            await saveModel(model, out, { bestValLoss: c.bestValLoss, bestEpoch: c.bestEpoch, history: c.history });
          else await writeFileAtomic(ckptPath, serializeCheckpoint(c));
        },
      });
    } catch (error) {
      // Ctrl-C: the run stopped at a batch boundary, its checkpoint written; report it as a result, exit 130.
      if (!(error instanceof AbortedError) || !error.partial) throw error;
      result = error.partial as TrainResult;
      stopped = true;
    }
    await writeFile(join(out, 'history.json'), JSON.stringify(result.history, null, 1));
    print({
      stage: 'done',
      stopped,
      bestValLoss: result.bestValLoss,
      bestEpoch: result.bestEpoch + 1,
      skipped: result.checkpoint.skipped.map((i) => data.entry(i).id),
      out,
    });
    if (!values.json) {
      console.log(
        stopped
          ? `stopped; checkpoint in ${ckptPath}. Resume with: cbir train --data ${values.data} --out ${values.out} --resume`
          : `done: best val loss ${result.bestValLoss.toFixed(6)} at epoch ${result.bestEpoch + 1}; model in ${out}`,
      );
    }
    return stopped ? EXIT_INTERRUPTED : 0;
  } finally {
    ctrlC.dispose();
    model.dispose();
  }
}
