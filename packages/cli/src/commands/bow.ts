import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BagOfVisualWords,
  CbirError,
  descriptorMatrix,
  elbow,
  elbowPlotSpec,
  type DescriptorEncoding,
} from 'cbir-core';
import { initNodeBackend, directoryDataset, skippedNote, writeFileAtomic, saveFeatures } from 'cbir-node';
import { writePlot } from '../plots/write-plot.js';
import { bowFeatureFile, orbOfDataset } from '../image-features.js';
import { progressPrinter } from '../progress-bar.js';
import { parseIntRange } from '../ranges.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  data: { type: 'string' },
  out: { type: 'string' },
  k: { type: 'string', default: '4..9' },
  vocab: { type: 'string' },
  encoding: { type: 'string', default: 'bytes' },
  tfidf: { type: 'boolean', default: false },
  'no-l2': { type: 'boolean', default: false },
  size: { type: 'string' },
  'orb-features': { type: 'string', default: '500' },
  batch: { type: 'string', default: '100' },
  seed: { type: 'string', default: '0' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (sub-folder names are labels)'],
  out: ['DIR', 'where the plots, vocabulary.bin and features.cbirfeat go'],
  k: ['RANGE', 'the k of the elbow: a range (4..9) or a list (4,6,8)'],
  vocab: ['K', "the vocabulary's size (default: the largest k)"],
  encoding: ['bytes|bits', "cluster ORB's 32 bytes as numbers (the notebook's) or its 256 bits"],
  tfidf: 'weight the histograms by inverse document frequency',
  'no-l2': 'leave the histograms unnormalised (by default L2-normalised)',
  size: ['S', 'resize images to S x S first (by default each at its own size, as the notebook)'],
  'orb-features': ['N', 'ORB keypoints per image'],
  batch: ['N', "MiniBatchKMeans rows per step (the notebook's batch_size)"],
  seed: ['N', "the seed of the k-means starts and batches (numpy's RandomState)"],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir bow --data DIR --out DIR [--k 4..9] [--vocab K] [--encoding bytes|bits] [--tfidf] [--no-l2]
                [--size S] [--orb-features 500] [--batch 100] [--seed 0] [--json]

The notebook's ORB bag of visual words: ORB descriptors of every image (OpenCV.js, OpenCV's defaults), the elbow of
MiniBatchKMeans over --k on all descriptors (elbow.svg/.png), a vocabulary of --vocab words (default: the largest k)
saved as vocabulary.bin, and one BoW histogram per image saved as features.cbirfeat (index it with cbir index,
evaluate it with cbir eval). As in the notebook, images are read at their own size and the dictionary is a
MiniBatchKMeans with --batch 100 rows per step; --size S resizes them to S x S first. --encoding bytes (the
notebook's) clusters the 32 bytes as numbers; bits clusters the 256 bits (Euclidean = sqrt(Hamming), ORB's own metric).

${flagList(OPTIONS, MEANINGS)}`;

export async function bow(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  if (!values.data || !values.out) throw new UsageError(`--data and --out are required.\n\n${HELP}`);
  const encoding = values.encoding as DescriptorEncoding;
  if (encoding !== 'bytes' && encoding !== 'bits')
    throw new UsageError(`--encoding must be bytes or bits, got "${encoding}".`);
  const print = progressPrinter(values.json!);
  // The plots need vega and vega-lite (optional dependencies): say so now, not after the work.
  await initNodeBackend();
  const ks = parseIntRange('k', values.k!);
  const vocabK = values.vocab ? Number(values.vocab) : ks[ks.length - 1];
  const out = resolve(values.out);
  await mkdir(out, { recursive: true });
  const started = Date.now();
  const size = values.size === undefined ? 'original' : Number(values.size);
  const data = await directoryDataset(resolve(values.data), { size });
  if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
  const orb = await orbOfDataset(data, Number(values['orb-features']), { onProgress: print });
  const x = descriptorMatrix(orb.values, encoding);
  if (x.rows < Math.max(...ks, vocabK))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `only ${x.rows} ORB descriptors in ${data.root}; need at least k = ${Math.max(...ks, vocabK)}. Add images or lower --k.`,
    );
  print({ stage: 'orb', images: orb.ids.length, descriptors: x.rows, skipped: orb.skipped.length });

  const estimator = { batchSize: Number(values.batch), seed: Number(values.seed) };
  const curve = elbow(x, { ks, miniBatch: true, estimator });
  for (const p of curve) print({ stage: 'elbow', k: p.k, distortion: p.distortion, inertia: p.inertia });
  await writePlot(
    elbowPlotSpec(curve, { title: `ORB visual words: the elbow method (${x.rows} descriptors, ${encoding})` }),
    join(out, 'elbow'),
  );

  const model = new BagOfVisualWords({
    k: vocabK,
    encoding,
    tfidf: values.tfidf,
    l2: !values['no-l2'],
    ...estimator,
  }).fit(orb.values);
  await writeFileAtomic(join(out, 'vocabulary.bin'), model.serialize());
  await saveFeatures(
    bowFeatureFile(model, orb, data.root, { images: data.root, size }, Number(values['orb-features'])),
    join(out, 'features.cbirfeat'),
  );
  const summary = {
    data: data.root,
    images: orb.ids.length,
    skipped: orb.skipped,
    descriptors: x.rows,
    encoding,
    vocabulary: vocabK,
    size,
    batchSize: estimator.batchSize,
    elbow: curve.map(({ k, distortion, inertia }) => ({ k, distortion, inertia })),
    seconds: (Date.now() - started) / 1000,
  };
  await writeFileAtomic(join(out, 'summary.json'), Buffer.from(JSON.stringify(summary, null, 2) + '\n'));
  if (values.json) print({ stage: 'done', ...summary });
  else
    console.log(
      `${x.rows} ORB descriptors from ${orb.ids.length} images; vocabulary of ${vocabK} words; wrote elbow plot, vocabulary.bin and features.cbirfeat to ${out}`,
    );
}
