// The V2 model example 04 trained, or (if it has not run) one trained here for an epoch, with the dataset's features.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConvAutoencoderV2,
  directoryDataset,
  embedImages,
  initNodeBackend,
  loadModel,
  saveModel,
  trainAutoencoder,
} from 'cbir-node';
import { dataset, out, size } from './_shared.mjs';

await initNodeBackend();
const dir = join(out, 'model-v2');
export const folders = await dataset();
export const data = await directoryDataset(folders.images, { size });
let model;
if (existsSync(join(dir, 'model.json'))) model = (await loadModel(dir)).model;
else {
  model = new ConvAutoencoderV2({ inputSize: size });
  await trainAutoencoder(model, data, { epochs: 1 });
  await saveModel(model, dir);
}
export { model };
/** Features of every image: the flattened latent, as the notebook's feature extraction. */
export const features = await embedImages(model, data);
/** Index metadata (path and label) for each row of the features. */
export const metadata = features.ids.map((id, i) => ({ path: join(data.root, id), label: features.labels[i] }));
