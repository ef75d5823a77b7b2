import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { CbirError, createExtractor, deserializeReducer, extractOne, imagesToTensor, l2Normalize, modelFingerprint, pipelineMismatch, reduceLatent, type ReducerState, type SearchHit, searchReranked } from 'cbir-core';
import { initNodeBackend } from '../backend.js';
import { buildMontage, buildNotebookMontage } from '../image/montage.js';
import { sharpDecoder } from '../image/sharp-decoder.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, isInMemory, openIndexArg } from './index-arg.js';
import { loadTfjsModel } from '../io/tfjs-model.js';
import { loadOpenCv } from '../features/load-opencv.js';
import { loadModelArg, positiveInt, reducerPathFor } from './model-args.js';
import { rerankerFor, type RerankChoice } from './rerank-arg.js';

const HELP = `Usage: cbir search ${INDEX_USAGE} (--query IMAGE [--model DIR|FILE.pt [--arch v1|v2] [--size S]] | --id ID) [-k 10]
                   [--rerank auto|diffusion|qe|none] [--montage out.png [--layout captioned|notebook]] [--json]

Finds the k items nearest to a new image (embedded with --model exactly as the collection was: same resize, encoder
and the reducer saved in the index; a PyTorch weight file is read into --arch at --size, as cbir embed does; a model
with other weights than the one that embedded the collection is refused) or to an indexed item (--id, itself excluded). The index may be a cbir index or the notebook's lsh.p (a pickled lshashpy3 LSHash, queried as its
hamming query). --montage writes the query and its results as a labelled grid with distances; --layout notebook
writes the notebook's build_montages(results, (512, 512), (5, 2)) instead: the first 10 results as bare 512-px tiles,
5 by 2, the query not in it (the notebook shows it apart).
An index of hand-crafted features (cbir features: fused, colorgrid, ...) extracts --query itself, with the blocks and
collection statistics saved in it: no --model. --rerank auto (the default) uses the re-ranker saved with the index
(cbir index --rerank), if any; diffusion and qe re-rank with it or without; none turns it off.`;

export async function search(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...INDEX_FLAGS, query: { type: 'string' }, id: { type: 'string' }, k: { type: 'string', short: 'k', default: '10' },
      model: { type: 'string' }, arch: { type: 'string' }, size: { type: 'string' }, montage: { type: 'string' }, layout: { type: 'string', default: 'captioned' }, rerank: { type: 'string', default: 'auto' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(HELP);
  if (!values.query === !values.id) throw new CbirError('INVALID_ARGUMENT', `one of --query or --id is required.\n\n${HELP}`);
  checkIndexArgs(values);
  const k = positiveInt('k', values.k!);
  if (values.layout !== 'captioned' && values.layout !== 'notebook') throw new CbirError('INVALID_ARGUMENT', `--layout must be captioned or notebook, got "${values.layout}".`);
  if (!['auto', 'diffusion', 'qe', 'none'].includes(values.rerank!)) throw new CbirError('INVALID_ARGUMENT', `--rerank must be auto, diffusion, qe or none, got "${values.rerank}".`);
  const opened = await openIndexArg(values);
  const { index } = opened;
  const source = opened.name;
  const memory = isInMemory(index);
  if (!memory && (values.rerank === 'diffusion' || values.rerank === 'qe')) throw new CbirError('INVALID_ARGUMENT', `--rerank ${values.rerank} works on index files; ${source} is a LanceDB table.`);
  const reranker = memory ? rerankerFor(index, values.rerank as RerankChoice, source) : undefined;
  let vector: Float32Array;
  let queryPath: string;
  let exclude: number | undefined;
  if (values.id !== undefined) {
    exclude = Number(values.id);
    const v = await index.vector(exclude);
    if (!v) throw new CbirError('INVALID_ARGUMENT', `--id ${values.id} is not in ${source} (ids are the feature file's rows, 0..${index.size - 1}).`);
    vector = v;
    queryPath = (await index.metadata(exclude))?.path ?? String(exclude);
  } else if (index.extractor) {
    const needsModel = index.extractor.kind === 'tfjs-model';
    if (values.model && !needsModel) throw new CbirError('INVALID_ARGUMENT', `${source} holds ${index.extractor.kind} features, which cbir extracts itself: drop --model.`);
    if (!values.model && needsModel) throw new CbirError('INVALID_ARGUMENT', `${source} holds features of a tfjs model${index.extractor.options.source ? ` (${String(index.extractor.options.source)})` : ''}: pass it with --model DIR|model.json|URL.`);
    if (needsModel) await initNodeBackend();
    const model = needsModel ? await loadTfjsModel(/^https?:/.test(values.model!) ? values.model! : resolve(values.model!)) : undefined;
    const cv = index.extractor.kind === 'bow' ? await loadOpenCv() : undefined;
    const fx = await createExtractor(index.extractor, { model, cv });
    queryPath = resolve(values.query!);
    const image = await sharpDecoder(fx.imageSize === 'original' ? {} : { size: fx.imageSize }).decode(queryPath);
    vector = await extractOne(fx, image);
    fx.dispose();
    model?.dispose?.();
    if (vector.length !== index.dim) throw new CbirError('INVALID_ARGUMENT', `the query's features have ${vector.length} values; ${source} holds ${index.dim}-d vectors. Extract and index the collection again.`);
  } else {
    if (!values.model) throw new CbirError('INVALID_ARGUMENT', '--query needs --model DIR|FILE.pt: the model that embedded the indexed collection.');
    await initNodeBackend();
    const modelPath = resolve(values.model);
    const { model, isDir } = await loadModelArg(modelPath, { arch: values.arch, size: values.size });
    let reducer: ReducerState;
    if (index.pipeline) {
      const why = pipelineMismatch(index.pipeline, { architecture: model.architecture.name, inputSize: model.inputSize, model: modelFingerprint(model) });
      if (why) {
        model.dispose();
        throw new CbirError('INVALID_ARGUMENT', `--model ${modelPath} is not the model that embedded ${source}: ${why}. Pass that model, or embed and index the collection again with this one.`);
      }
      reducer = index.pipeline.reducer;
    } else {
      // An index from before pipelines were saved with it: the reducer that cbir embed then kept beside the model.
      const reducerPath = reducerPathFor(modelPath, isDir);
      const kept = existsSync(reducerPath);
      reducer = kept
        ? deserializeReducer(new Uint8Array(await readFile(reducerPath)), reducerPath)
        : { kind: 'none', latentShape: [...model.latentShape] as [number, number, number], dim: model.latentDim };
      process.stderr.write(`cbir search: ${source} does not record the model and reducer that made it; using ${kept ? reducerPath : 'no reducer'}. Rebuild the index (cbir embed, then cbir index) so that queries are checked.\n`);
    }
    if (reducer.dim !== index.dim) {
      model.dispose();
      throw new CbirError('INVALID_ARGUMENT', `the query would be a ${reducer.dim}-d vector; ${source} holds ${index.dim}-d vectors. Pass the model and reducer that built the index.`);
    }
    queryPath = resolve(values.query!);
    const image = await sharpDecoder({ size: model.inputSize }).decode(queryPath);
    const x = imagesToTensor([image], model.inputSize);
    const z = model.encode(x);
    vector = reduceLatent(z.dataSync() as Float32Array, reducer);
    if (reducer.l2) l2Normalize(vector);
    tf.dispose([x, z]);
    model.dispose();
  }
  const query = { data: vector, rows: 1, cols: vector.length };
  const depth = Math.min(index.size, exclude === undefined ? k : k + 1);
  const res = reranker && memory ? searchReranked(index, reranker, query, depth, [exclude]) : await index.search(query, depth);
  const hits: SearchHit[] = [];
  for (let j = 0; j < res.k && hits.length < k; j++) {
    const id = res.ids[j];
    if (id >= 0 && id !== exclude) hits.push({ id, distance: res.distances[j], ...(await index.metadata(id)) });
  }
  await opened.close();
  if (values.montage) {
    const tiles = [{ path: queryPath, caption: 'query', highlight: true }, ...hits.map((h, j) => ({
      path: h.path ?? '', caption: `#${j + 1} ${h.distance.toFixed(3)}${h.label ? ` ${h.label}` : ''}`,
    }))];
    const png = values.layout === 'notebook' ? await buildNotebookMontage(hits.map((h) => h.path ?? '')) : await buildMontage(tiles);
    await writeFileAtomic(resolve(values.montage), png);
  }
  if (values.json) console.log(JSON.stringify({ query: queryPath, results: hits }));
  else {
    console.log(`query: ${queryPath}`);
    hits.forEach((h, j) => console.log(`${String(j + 1).padStart(3)}  ${h.distance.toFixed(4)}  ${h.label ?? ''}  ${h.path ?? h.id}`));
    if (values.montage) console.log(`montage: ${values.montage}`);
  }
}
