// Notebook step: load the images (ImageFolder + Resize + ToTensor + Normalize) and split them 85/15 with seed 0.
// Usage: node examples/03-prepare-data.mjs [--data DIR] [--quick]
import { splitIndices } from 'cbir-node';
import { directoryDataset } from 'cbir-node';
import { dataset, size } from './_shared.mjs';

const { images } = await dataset();
const data = await directoryDataset(images, { size }); // decodes on demand; sub-folder names are the labels
console.log(`${data.size} images, ${data.labels.length} classes: ${data.labels.join(', ')}`);
const { train, val } = splitIndices(data.size, 0.15, 0); // train_test_split(df, test_size=0.15, random_state=0): the notebook's rows
console.log(`train ${train.length}, validation ${val.length}`);
const first = await data.read(train[0]);
console.log(
  `item ${data.entry(train[0]).id}: ${first.width}x${first.height}x${first.channels}, label ${data.entry(train[0]).label}`,
);
