import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CbirError, deserializeReducer, type ReducerState, type Retriever } from 'cbir-core';
import { initNodeBackend, loadTfjsModel, openQueryEmbedder, queryNeedsModel, type QueryEmbedder } from 'cbir-node';
import { loadModelArg, reducerPathFor } from './model-args.js';

/** Where the model comes from when the index was made by one: `--model` and, for a PyTorch file, `--arch`/`--size`. */
export interface QueryModelArgs {
  /** A model folder saved by cbir, or a PyTorch checkpoint (`.pt`); absent when the index needs no model. */
  model?: string;
  /** For a `.pt` file: the notebook's network, `'v1'` or `'v2'`. @defaultValue 'v2' */
  arch?: string;
  /** For a `.pt` file: the input side in pixels, as a string (the CLI's `--size`). @defaultValue '512' (the notebook's) */
  size?: string;
}

/**
 * `openQueryEmbedder` for `cbir search --query` and `cbir serve`: checks `--model` against what the index holds, loads
 * the model it names (a tfjs model for `tfjs-model` features; otherwise cbir's folder or a PyTorch weight file read into
 * `--arch` at `--size`) and, for an index that does not record its pipeline, the reducer `cbir embed` kept beside it.
 */
export async function openQueryEmbedderFor(
  retriever: Retriever,
  args: QueryModelArgs,
  warn: (message: string) => void = () => undefined,
): Promise<QueryEmbedder> {
  const { extractor, source } = retriever;
  const needsModel = queryNeedsModel(retriever);
  if (args.model && !needsModel)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${source} holds ${extractor!.kind} features, which cbir extracts itself: drop --model.`,
    );
  if (!args.model && needsModel)
    throw new CbirError(
      'INVALID_ARGUMENT',
      extractor
        ? `${source} holds features of a tfjs model${extractor.options.source ? ` (${String(extractor.options.source)})` : ''}: pass it with --model DIR|model.json|URL.`
        : `a query image needs --model DIR|FILE.pt: the model that embedded ${source}.`,
    );
  if (!args.model) return openQueryEmbedder(retriever, {}, warn);
  await initNodeBackend(); // the backend the model's tensors are made on, and the embedder runs on
  if (extractor) {
    const model = await loadTfjsModel(/^https?:/.test(args.model) ? args.model : resolve(args.model));
    return openQueryEmbedder(retriever, { model, name: args.model }, warn);
  }
  const modelPath = resolve(args.model);
  const { model, isDir } = await loadModelArg(modelPath, { arch: args.arch, size: args.size });
  let reducer: ReducerState | undefined;
  if (!retriever.pipeline) {
    // An index from before pipelines were saved with it: the reducer that cbir embed then kept beside the model.
    const reducerPath = reducerPathFor(modelPath, isDir);
    try {
      if (existsSync(reducerPath))
        reducer = deserializeReducer(new Uint8Array(await readFile(reducerPath)), reducerPath);
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return openQueryEmbedder(retriever, { model, name: `--model ${modelPath}`, reducer }, warn);
}
