import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BagOfVisualWords, CbirError, colorHistogram, colorHistogramDim, extractFeatures, type ColorHistogramOptions } from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { directoryDataset, skippedNote } from '../dataset/directory-dataset.js';
import { saveFeatures } from '../io/feature-files.js';
import { bowFeatureFile, orbOfDataset } from './image-features.js';
import { progressPrinter } from './progress-bar.js';

const HELP = `Usage: cbir features --data DIR --kind colorhist|bow --out FILE [--size S] [--json]
                     colorhist: [--space hsv|rgb] [--bins 8,12,3] [--per-channel]   (--size defaults to 256)
                     bow:       --vocab FILE (vocabulary.bin from cbir bow) [--orb-features 500]
                                (images at their own size unless --size, as cbir bow reads them)

Hand-crafted features of every image of a folder, as a feature file for cbir index / eval / cluster:
  colorhist  a colour histogram (joint HSV 8x12x3 by default): the classic CBIR baseline to judge learned features by;
  bow        ORB bag-of-visual-words histograms over a vocabulary built by cbir bow.`;

export async function features(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' }, kind: { type: 'string' }, out: { type: 'string' }, size: { type: 'string' },
      space: { type: 'string', default: 'hsv' }, bins: { type: 'string' }, 'per-channel': { type: 'boolean', default: false },
      vocab: { type: 'string' }, 'orb-features': { type: 'string', default: '500' }, json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  if (!values.data || !values.out || !values.kind) throw new CbirError('INVALID_ARGUMENT', `--data, --kind and --out are required.\n\n${HELP}`);
  const print = progressPrinter(values.json!);
  await initNodeBackend();
  const started = Date.now();
  const size = values.size !== undefined ? Number(values.size) : values.kind === 'bow' ? 'original' : 256;
  const data = await directoryDataset(resolve(values.data), { size });
  if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
  let file;
  if (values.kind === 'colorhist') {
    const bins = values.bins?.split(',').map(Number);
    if (bins && bins.length !== 1 && bins.length !== 3) throw new CbirError('INVALID_ARGUMENT', `--bins takes one number or three (e.g. 8,12,3), got "${values.bins}".`);
    const options: ColorHistogramOptions = {
      space: values.space as 'hsv' | 'rgb', joint: !values['per-channel'],
      bins: bins ? (bins.length === 1 ? bins[0] : (bins as [number, number, number])) : undefined,
    };
    colorHistogramDim(options); // checks the options before reading the folder
    const f = await extractFeatures(data, (image) => colorHistogram(image, options), { onProgress: print });
    file = { ...f, paths: f.ids.map((id) => join(data.root, id)), metadata: { kind: 'colorhist', ...options, size } };
  } else if (values.kind === 'bow') {
    if (!values.vocab) throw new CbirError('INVALID_ARGUMENT', '--kind bow needs --vocab FILE (the vocabulary.bin that cbir bow wrote).');
    const vocabPath = resolve(values.vocab);
    const model = BagOfVisualWords.deserialize(new Uint8Array(await readFile(vocabPath)), vocabPath);
    const orb = await orbOfDataset(data, Number(values['orb-features']), { onProgress: print });
    file = bowFeatureFile(model, orb, data.root, { vocabulary: vocabPath, size });
  } else throw new CbirError('INVALID_ARGUMENT', `--kind must be colorhist or bow, got "${values.kind}".`);
  await saveFeatures(file, values.out);
  const report = { stage: 'done', kind: values.kind, rows: file.matrix.rows, cols: file.matrix.cols, seconds: (Date.now() - started) / 1000, out: values.out };
  if (values.json) print(report);
  else console.log(`wrote ${file.matrix.rows} x ${file.matrix.cols} ${values.kind} features to ${values.out}`);
}
