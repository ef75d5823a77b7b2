import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BagOfVisualWords, BowExtractor, loadOpenCv, orbDescriptors, type OpenCv } from 'cbir-node';
import { beforeAll } from 'vitest';
import { contractImage, describeExtractorContract } from '../../../core/test/features/extractor-contract.js';

// The `bow` kind under the FeatureExtractor contract (the other kinds are in cbir-core's extractor-contract.test.ts):
// it needs OpenCV.js, which cbir-node loads. The vocabulary is fitted on the same seeded photos.
const images = Array.from({ length: 6 }, (_, i) => contractImage(i + 21, 160, 128));
let cv: OpenCv;
let bow: BagOfVisualWords;

beforeAll(async () => {
  await tf.setBackend('cpu'); // the contract counts tensors (none here)
  cv = await loadOpenCv();
  bow = new BagOfVisualWords({ k: 8, randomState: 0 }).fit(images.map((im) => orbDescriptors(cv, im)));
});

describeExtractorContract('bow', () => ({ make: () => new BowExtractor(cv, bow), context: { cv } }), images);
