import { buildReranker, CbirError, isInMemory, type Reranker, type Retriever } from 'cbir-core';
import { UsageError } from './usage.js';

/** The --rerank choices of cbir search and cbir eval. */
export type RerankChoice = 'auto' | 'diffusion' | 'qe' | 'none';

/**
 * Sets the re-ranker a command uses on `retriever`: `auto` the one saved with the index (if any), `diffusion` or `qe`
 * the saved one of that kind or a new one (diffusion then builds its graph now), `none` none. Returns it.
 */
export function chooseReranker(retriever: Retriever, choice: RerankChoice): Reranker | undefined {
  const { index, source } = retriever;
  if (choice === 'auto') return retriever.reranker;
  if (choice === 'none') return (retriever.reranker = undefined);
  if (!isInMemory(index))
    throw new UsageError(`--rerank ${choice} works on index files; ${source} is a LanceDB table.`);
  if (retriever.reranker?.kind === choice) return retriever.reranker;
  if (index.size < 2)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `--rerank ${choice} needs an index of at least 2 items; ${source} holds ${index.size}.`,
    );
  if (choice === 'diffusion')
    process.stderr.write(
      `cbir: ${source} has no saved diffusion graph; building it now (cbir index --rerank diffusion saves it).\n`,
    );
  return (retriever.reranker = buildReranker(index, choice));
}
