import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BagOfVisualWords,
  BlockExtractor,
  DEFAULT_FUSION,
  extractDataset,
  PretrainedExtractor,
  type PretrainedOptions,
  type BlockKind,
  type BlockNorm,
  type BlockSpec,
  type ColorHistogramOptions,
} from 'cbir-core';
import {
  initNodeBackend,
  directoryDataset,
  skippedNote,
  ParallelExtractor,
  saveFeatures,
  loadTfjsModel,
} from 'cbir-node';
import { bowFeatureFile, fileColumns, orbOfDataset } from '../image-features.js';
import { positiveInt } from '../model-args.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';
import { flagList, BACKEND_FLAG, BACKEND_MEANING, applyBackendFlag } from '../flags.js';
import { embed } from './embed.js';

const OPTIONS = {
  data: { type: 'string' },
  kind: { type: 'string' },
  out: { type: 'string' },
  size: { type: 'string' },
  space: { type: 'string', default: 'hsv' },
  bins: { type: 'string' },
  'per-channel': { type: 'boolean', default: false },
  norm: { type: 'string' },
  model: { type: 'string' },
  'input-size': { type: 'string' },
  scaling: { type: 'string' },
  output: { type: 'string' },
  pool: { type: 'string' },
  vocab: { type: 'string' },
  'orb-features': { type: 'string', default: '500' },
  json: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (sub-folder names are labels)'],
  kind: ['KIND', 'fused, colorgrid, lbp, moments, hog, colorhist, tfjs-model, bow or autoencoder (see above)'],
  out: ['FILE', 'the feature file to write'],
  size: ['S', 'the side images are resized to for the blocks (default: 256)'],
  space: ['hsv|rgb', 'colorhist: the colour space'],
  bins: ['N|A,B,C', 'colorhist: bins per channel (default: 8,12,3 in HSV)'],
  'per-channel': 'colorhist: one histogram per channel instead of a joint one',
  norm: ['NAME', "a single block's normalisation: hellinger, zscore, l2 or none"],
  model: ['DIR|model.json|URL', 'tfjs-model: the model'],
  'input-size': ['S', "tfjs-model: the model's input size"],
  scaling: ['NAME', 'tfjs-model: unit, symmetric, imagenet or raw pixel scaling'],
  output: ['NAME', "tfjs-model: the node or layer to read (default: the model's output)"],
  pool: ['avg|max|none', 'tfjs-model: how a spatial output becomes a vector'],
  vocab: ['FILE', 'bow: vocabulary.bin from cbir bow'],
  'orb-features': ['N', 'bow: ORB keypoints per image'],
  json: 'machine-readable output: one JSON object per line',
  ...BACKEND_MEANING,
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir features --data DIR --kind fused|colorgrid|lbp|moments|hog|colorhist|tfjs-model|bow|autoencoder --out FILE [--json]
                     [--norm hellinger|zscore|l2|none] [--size S]
                     tfjs-model: --model DIR|model.json|URL --input-size S [--scaling unit|symmetric|imagenet|raw]
                                 [--output NAME] [--pool avg|max|none]
                     colorhist: [--space hsv|rgb] [--bins 8,12,3] [--per-channel]
                     bow:       --vocab FILE (vocabulary.bin from cbir bow) [--orb-features 500]
                                (images at their own size unless --size, as cbir bow reads them)

Hand-crafted features of every image of a folder, as a feature file for cbir index / eval / cluster / search:
  fused      the recommended default: colour grid (weight 1) + LBP (0.5) + colour moments (0.25) + HOG (0.25), each
             block normalised to a unit vector (Hellinger for the colour grid, z-scored over the collection for the
             others); index it with --type cosine. On wang1k: P@10 0.84, and 0.87 with --rerank diffusion at cbir index;
  colorgrid  joint HSV 16x4x4 histograms of the whole uncropped image and of its 2x2 cells (Hellinger by default);
  lbp        uniform local binary patterns at radii 1, 2, 4, whole + 2x2 (texture);
  moments    Lab colour moments (mean, deviation, skew), whole + 3x3 (colour layout);
  hog        histograms of oriented gradients on 128-px grey (shape);
  colorhist  one colour histogram (joint HSV 8x12x3 by default, L1; --norm hellinger is better): the classic baseline;
  tfjs-model a pretrained tfjs model (layers or graph, e.g. a converted MobileNet): images resized and centre-cropped
             to --input-size, scaled as the model was trained, the --output node or layer (default: the model's
             output) pooled to a vector and L2-normalised; cbir search --query then needs the same --model;
  bow        ORB bag-of-visual-words histograms over a vocabulary built by cbir bow;
  autoencoder the encoder of a model from cbir train (or a PyTorch weight file), reduced by --reduce: takes cbir
             embed's flags (--model, --arch, --size, --reduce, --l2, --batch, ...; see cbir embed --help), of which
             cbir embed is the notebook-shaped name.
The blocks other than colorgrid see the centre square of each image with its short side resized to --size (256).
What made the features (the blocks, their options and the collection's z-score statistics) is saved with them and
with the index built from them, so cbir search --query extracts a new image the same way.

${flagList(OPTIONS, MEANINGS)}`;

export async function features(argv: string[]): Promise<void> {
  // The autoencoder is one more kind of features; its flags are cbir embed's, and so is its code.
  const at = argv.findIndex((a, i) => (a === '--kind' && argv[i + 1] === 'autoencoder') || a === '--kind=autoencoder');
  if (at >= 0) return embed([...argv.slice(0, at), ...argv.slice(at + (argv[at] === '--kind' ? 2 : 1))]);
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  applyBackendFlag(values.backend);
  if (!values.data || !values.out || !values.kind)
    throw new UsageError(`--data, --kind and --out are required.\n\n${HELP}`);
  const kind = values.kind;
  const blockKinds = ['colorgrid', 'lbp', 'moments', 'hog', 'colorhist'];
  if (kind !== 'fused' && kind !== 'bow' && kind !== 'tfjs-model' && !blockKinds.includes(kind))
    throw new UsageError(
      `--kind must be fused, ${blockKinds.join(', ')}, tfjs-model, bow or autoencoder, got "${kind}".`,
    );
  if (kind === 'tfjs-model' && (!values.model || values['input-size'] === undefined))
    throw new UsageError(
      '--kind tfjs-model needs --model DIR|model.json|URL and --input-size S (the side of the square the model takes).',
    );
  if (values.norm !== undefined && !['hellinger', 'zscore', 'l2', 'none'].includes(values.norm))
    throw new UsageError(`--norm must be hellinger, zscore, l2 or none, got "${values.norm}".`);
  if (values.norm !== undefined && (kind === 'fused' || kind === 'bow' || kind === 'tfjs-model'))
    throw new UsageError(
      `--norm applies to a single block (colorgrid, lbp, moments, hog, colorhist), not to --kind ${kind}.`,
    );
  const size = values.size !== undefined ? positiveInt('size', values.size) : undefined;
  let extractor: BlockExtractor | undefined;
  let pretrained: PretrainedOptions | undefined;
  if (kind === 'tfjs-model') {
    pretrained = {
      inputSize: positiveInt('input-size', values['input-size']!),
      source: values.model,
      ...(values.scaling ? { scaling: values.scaling as PretrainedOptions['scaling'] } : {}),
      ...(values.output ? { output: values.output } : {}),
      ...(values.pool ? { pool: values.pool as PretrainedOptions['pool'] } : {}),
    };
  } else if (kind !== 'bow') {
    // Every option is checked (the extractor is built) before the folder is read.
    let blocks: BlockSpec[];
    if (kind === 'fused') blocks = DEFAULT_FUSION.map((b) => ({ ...b }));
    else {
      let options: ColorHistogramOptions | undefined;
      if (kind === 'colorhist') {
        const bins = values.bins?.split(',').map(Number);
        if (bins && bins.length !== 1 && bins.length !== 3)
          throw new UsageError(`--bins takes one number or three (e.g. 8,12,3), got "${values.bins}".`);
        options = {
          space: values.space as 'hsv' | 'rgb',
          joint: !values['per-channel'],
          ...(bins ? { bins: bins.length === 1 ? bins[0] : (bins as [number, number, number]) } : {}),
        };
      }
      blocks = [
        {
          kind: kind as BlockKind,
          ...(options ? { options } : {}),
          ...(values.norm ? { norm: values.norm as BlockNorm } : {}),
        },
      ];
    }
    if (size !== undefined) blocks = blocks.map((b) => ({ ...b, short: size }));
    extractor = new BlockExtractor(blocks);
  }
  const print = progressPrinter(values.json!);
  await initNodeBackend();
  const started = Date.now();
  const data = await directoryDataset(resolve(values.data), {
    size: kind === 'bow' ? (size ?? 'original') : 'original',
  });
  if (data.skipped.length) process.stderr.write(`${skippedNote(data)}\n`);
  let file;
  if (pretrained) {
    const model = await loadTfjsModel(/^https?:/.test(values.model!) ? values.model! : resolve(values.model!));
    const fx = await PretrainedExtractor.create(model, pretrained);
    try {
      const f = await extractDataset(data, fx, { onProgress: print });
      file = { ...f, metadata: { kind } };
    } finally {
      fx.dispose();
      model.dispose?.();
    }
  } else if (extractor) {
    // Raw vectors on every core (the calling thread and a worker per extra core), then fit and transform here.
    const fx = await ParallelExtractor.create(extractor.spec());
    const f = await extractDataset(data, fx, { onProgress: print }).finally(() => fx.close());
    file = { ...f, metadata: { kind } };
  } else {
    if (!values.vocab) throw new UsageError('--kind bow needs --vocab FILE (the vocabulary.bin that cbir bow wrote).');
    const vocabPath = resolve(values.vocab);
    const model = BagOfVisualWords.deserialize(new Uint8Array(await readFile(vocabPath)), vocabPath);
    const orb = await orbOfDataset(data, Number(values['orb-features']), { onProgress: print });
    file = bowFeatureFile(
      model,
      orb,
      data.root,
      { vocabulary: vocabPath, size: size ?? 'original' },
      Number(values['orb-features']),
    );
  }
  // Where each image is and what was read of its file, kept with each item by cbir index.
  file = { ...file, ...(await fileColumns(file.ids, data.root, { onProgress: print })) };
  await saveFeatures(file, values.out);
  const report = {
    stage: 'done',
    kind,
    rows: file.matrix.rows,
    cols: file.matrix.cols,
    seconds: (Date.now() - started) / 1000,
    out: values.out,
  };
  if (values.json) print(report);
  else console.log(`wrote ${file.matrix.rows} x ${file.matrix.cols} ${kind} features to ${values.out}`);
}
