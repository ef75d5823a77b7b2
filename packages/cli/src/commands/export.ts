import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { CbirError, deserializeCheckpoint, exportTorchCheckpoint, type ExportTorchCheckpointOptions } from 'cbir-core';
import { initNodeBackend, writeFileAtomic, loadModel } from 'cbir-node';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  model: { type: 'string' },
  out: { type: 'string' },
  weights: { type: 'string', default: 'last' },
  layout: { type: 'string', default: 'checkpoint' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  model: ['DIR', 'a model folder from cbir train'],
  out: ['FILE.pt', 'the PyTorch file to write'],
  weights: ['last|best', "last.ckpt's weights and Adam state, or the best-validation weights"],
  layout: ['NAME', 'checkpoint, epoch-checkpoint or state-dict (see above)'],
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir export --model DIR --out FILE.pt [--weights last|best (last)] [--layout checkpoint|epoch-checkpoint|state-dict]

Writes a model trained by cbir train as a PyTorch file the notebook loads (torch.load reads it; no Python needed here):
  checkpoint        (default) the notebook's final save {'epoch', 'model_state_dict', 'optimizer_state_dict', 'loss'}
  epoch-checkpoint  its ckpt_epoch_N.pt {'epoch', 'state_dict', 'best_loss', 'optimizer_state_dict'}
  state-dict        a bare model.state_dict()
--weights last takes the weights and Adam's state of DIR/last.ckpt, so the notebook continues exactly where cbir
stopped (optimizer.load_state_dict included); --weights best takes the best-validation weights of DIR/model.json,
with last.ckpt's Adam state beside them when there is one, as the notebook's own final save does.
Exit codes: 0 done, 1 error, 2 bad arguments.

${flagList(OPTIONS, MEANINGS)}`;

export async function exportCmd(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  for (const k of ['model', 'out'] as const) if (!values[k]) throw new UsageError(`--${k} is required.\n\n${HELP}`);
  const layouts = ['checkpoint', 'epoch-checkpoint', 'state-dict'];
  if (!layouts.includes(values.layout!))
    throw new UsageError(`--layout must be one of ${layouts.join(', ')}, got "${values.layout}".`);
  if (values.weights !== 'last' && values.weights !== 'best')
    throw new UsageError(`--weights must be last or best, got "${values.weights}".`);
  await initNodeBackend({ prefer: ['cpu'] });
  const dir = resolve(values.model!);
  const { model, metadata } = await loadModel(dir);
  try {
    const ckptPath = join(dir, 'last.ckpt');
    const ckpt = existsSync(ckptPath)
      ? deserializeCheckpoint(new Uint8Array(await readFile(ckptPath)), ckptPath)
      : undefined;
    if (values.weights === 'last') {
      if (!ckpt)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `--weights last needs ${ckptPath}, which is missing; pass --weights best to export model.json's weights.`,
        );
      const vars = model.model.trainableWeights;
      ckpt.params.forEach((p, i) => {
        const t = tf.tensor(p.data, p.shape);
        vars[i].write(t);
        t.dispose();
      });
    }
    const last = ckpt?.history.at(-1);
    const o = ckpt?.options;
    const options: ExportTorchCheckpointOptions = {
      layout: values.layout as ExportTorchCheckpointOptions['layout'],
      epoch: ckpt?.epoch ?? (typeof metadata.bestEpoch === 'number' ? metadata.bestEpoch + 1 : 0),
      loss: values.layout === 'epoch-checkpoint' ? (ckpt?.bestValLoss ?? Number(metadata.bestValLoss)) : last?.valLoss,
      optimizer:
        ckpt && o
          ? {
              options: { lr: o.lr, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8 },
              state: ckpt.adam,
            }
          : undefined,
    };
    await writeFileAtomic(resolve(values.out!), exportTorchCheckpoint(model, options));
    console.log(
      `wrote ${values.out}: ${model.architecture.name} at ${model.inputSize} px, ${values.weights} weights, ${values.layout}` +
        (options.optimizer && values.layout !== 'state-dict' ? `, Adam at step ${options.optimizer.state.step}` : ''),
    );
  } finally {
    model.dispose();
  }
}
