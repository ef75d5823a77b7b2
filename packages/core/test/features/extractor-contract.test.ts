import * as tfl from '@tensorflow/tfjs-layers';
import {
  AutoencoderExtractor,
  BlockExtractor,
  ConvAutoencoder,
  FusionExtractor,
  arrayDataset,
  createExtractor,
  embedImages,
  extractorKinds,
  type ReducerState,
} from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backends.js';
import { contractImage, describeExtractorContract, type ExtractorCase } from './extractor-contract.js';

// Every extractor kind cbir-core registers runs the FeatureExtractor contract (extractor-contract.ts). `bow` needs
// OpenCV.js, which cbir-node loads: its case is in packages/node/test/features/bow-contract.test.ts.
const images = Array.from({ length: 6 }, (_, i) => contractImage(i + 1));
const square = Array.from({ length: 6 }, (_, i) => contractImage(i + 11, 32, 32));

let ae: ConvAutoencoder;
let reducer: ReducerState;
let tiny: tfl.Sequential;

beforeAll(async () => {
  await useBackend('cpu');
  ae = new ConvAutoencoder({ inputSize: 32, seed: 3 });
  tiny = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, activation: 'relu', seed: 1 } as never),
      tfl.layers.globalAveragePooling2d({}),
    ],
  });
  const data = arrayDataset(
    32,
    square.map((image, i) => ({ id: `${i}`, image })),
  );
  reducer = (await embedImages(ae, data, { reduce: 'rp:8', l2: true })).reducer;
});
afterAll(() => {
  ae.dispose();
  tiny.dispose();
});

const block = (kind: string): ExtractorCase => ({ make: () => createExtractor({ kind, options: {} }) });

const CASES: Record<string, () => ExtractorCase> = {
  fused: () => ({ make: () => new BlockExtractor() }),
  colorhist: () => block('colorhist'),
  colorgrid: () => block('colorgrid'),
  lbp: () => block('lbp'),
  moments: () => block('moments'),
  hog: () => block('hog'),
  autoencoder: () => ({ make: () => new AutoencoderExtractor(ae, reducer), context: { model: ae } }),
  'tfjs-model': () => ({
    make: () => createExtractor({ kind: 'tfjs-model', options: { inputSize: 32 } }, { model: tiny }),
    context: { model: tiny },
  }),
  fusion: () => ({
    make: async () =>
      new FusionExtractor([
        { extractor: await createExtractor({ kind: 'colorhist', options: {} }), norm: 'hellinger' },
        { extractor: new AutoencoderExtractor(ae, reducer), weight: 0.5 },
      ]),
    context: { model: ae },
  }),
};

describe('the extractor contract', () => {
  it('covers every kind cbir-core registers (bow in cbir-node)', () => {
    expect([...Object.keys(CASES), 'bow'].sort()).toEqual(extractorKinds());
  });
});

for (const [kind, make] of Object.entries(CASES))
  describeExtractorContract(kind, make, kind === 'autoencoder' || kind === 'fusion' ? square : images);
