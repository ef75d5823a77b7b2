import { buildReranker, CbirError, restoreReranker, type Index, type Reranker } from 'cbir-core';

/** The --rerank choices of cbir search and cbir eval. */
export type RerankChoice = 'auto' | 'diffusion' | 'qe' | 'none';

/**
 * The re-ranker a command uses: `auto` the one saved with the index (if any), `diffusion` or `qe` the saved one of
 * that kind or a new one (diffusion then builds its graph now), `none` none.
 */
export function rerankerFor(index: Index, choice: RerankChoice, source: string): Reranker | undefined {
  if (choice === 'none') return undefined;
  const saved = index.rerank;
  if (choice === 'auto') return saved ? restoreReranker(index, saved, source) : undefined;
  if (saved?.kind === choice) return restoreReranker(index, saved, source);
  if (index.size < 2)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `--rerank ${choice} needs an index of at least 2 items; ${source} holds ${index.size}.`,
    );
  if (choice === 'diffusion')
    process.stderr.write(
      `cbir: ${source} has no saved diffusion graph; building it now (cbir index --rerank diffusion saves it).\n`,
    );
  return buildReranker(index, choice);
}
