// Notebook step: train ConvAutoencoder and ConvAutoencoderV2 (MSE, Adam 3e-4, batch 32), keep the best validation
// checkpoint, and resume training from a checkpoint.
// Usage: node examples/04-train.mjs [--data DIR] [--quick]
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ConvAutoencoder,
  ConvAutoencoderV2,
  deserializeCheckpoint,
  directoryDataset,
  initNodeBackend,
  saveModel,
  serializeCheckpoint,
  trainAutoencoder,
} from 'cbir-node';
import { dataset, out, quick, size } from './_shared.mjs';

console.log('backend', (await initNodeBackend()).name);
const data = await directoryDataset((await dataset()).images, { size });
const epochs = quick ? 1 : 4;
for (const [name, Model] of [
  ['v1', ConvAutoencoder],
  ['v2', ConvAutoencoderV2],
]) {
  const model = new Model({ inputSize: name === 'v1' ? 44 : size }); // V1 takes sizes 8 mod 12, V2 multiples of 32
  const v1Data = name === 'v1' ? await directoryDataset((await dataset()).images, { size: 44 }) : data;
  let last;
  const result = await trainAutoencoder(model, v1Data, {
    epochs,
    onProgress: (e) =>
      e.stage === 'epoch' &&
      console.log(
        `${name} epoch ${e.epoch + 1}: train ${e.trainLoss.toFixed(5)}, val ${e.valLoss.toFixed(5)}${e.best ? ' (best)' : ''}`,
      ),
    onCheckpoint: async (c, kind) => {
      if (kind === 'best')
        await saveModel(model, join(out, `model-${name}`), { bestValLoss: c.bestValLoss, bestEpoch: c.bestEpoch });
      else last = serializeCheckpoint(c);
    },
  });
  await writeFile(join(out, `last-${name}.ckpt`), last);
  console.log(`${name}: best val loss ${result.bestValLoss.toFixed(5)} at epoch ${result.bestEpoch + 1}`);
  // Resume: one more epoch from the checkpoint, exactly as if training had not stopped.
  const resumed = await trainAutoencoder(model, v1Data, { epochs: epochs + 1, resume: deserializeCheckpoint(last) });
  console.log(
    `${name}: resumed to epoch ${resumed.history.length}, val loss ${resumed.history.at(-1).valLoss.toFixed(5)}`,
  );
  model.dispose();
}
