import { pipelineFromFramed, pipelineToFramed, type EmbeddingPipeline } from '../embedding/pipeline.js';
import type { OwnerSections } from '../indexes/index.js';
import type { OwnerReader } from '../indexes/deserialize-index.js';
import { specFromFramed, specToFramed, type SavedSpec } from '../io/saved-spec.js';

/**
 * What made an index's vectors and what re-ranks its results: kept with the index (in its file, or beside a LanceDB
 * table) by its {@link Retriever}, so a query is embedded exactly as the collection was and re-ranked as it was built.
 */
export interface Provenance {
  /** The autoencoder (architecture, input size, a fingerprint of its weights) and the fitted reducer. */
  pipeline?: EmbeddingPipeline;
  /** The feature extractor (hand-crafted, fused, pretrained) and its fitted state. */
  extractor?: SavedSpec;
  /** A re-ranker built over the index (kind, options, diffusion's graph). */
  rerank?: SavedSpec;
}

/**
 * The provenance as an index file's owner sections: header keys `pipeline`, `extractor` and `rerank`, and their arrays
 * in that order (the layout files have had since provenance was first saved with indexes).
 */
export function provenanceSections(p: Provenance): OwnerSections {
  const pipeline = pipelineToFramed(p.pipeline);
  const extractor = specToFramed(p.extractor);
  const rerank = specToFramed(p.rerank);
  return {
    header: {
      ...(pipeline.header ? { pipeline: pipeline.header } : {}),
      ...(extractor.header ? { extractor: extractor.header } : {}),
      ...(rerank.header ? { rerank: rerank.header } : {}),
    },
    arrays: [...pipeline.arrays, ...extractor.arrays, ...rerank.arrays],
  };
}

/** Reads {@link provenanceSections} back from the rest of an index file, and checks that nothing follows. */
export function readProvenance(owner: OwnerReader, source: string): Provenance {
  const h = owner.header;
  const pipeline = pipelineFromFramed(h.pipeline, owner, source);
  const extractor = specFromFramed(h.extractor, owner, source, 'feature extractor');
  const rerank = specFromFramed(h.rerank, owner, source, 're-ranker');
  owner.end();
  return { ...(pipeline ? { pipeline } : {}), ...(extractor ? { extractor } : {}), ...(rerank ? { rerank } : {}) };
}
