import { CbirError } from '../errors.js';
import { BLOCK_KINDS, BlockExtractor, blocksOf } from './block-extractor.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
import { autoencoderFromSpec } from './autoencoder-extractor.js';
import { bowFromSpec } from './bow-extractor.js';
import { FusionExtractor, fusionMembers } from './fusion-extractor.js';
import { pretrainedFromSpec } from './pretrained.js';

/** What some extractors need from the platform: a model that was loaded for them. */
export interface ExtractorContext {
  /** The loaded model of an `autoencoder` (an `Autoencoder`) or `tfjs-model` extractor (a tfjs layers or graph model). */
  model?: unknown;
  /** OpenCV.js, for the `bow` kind (ORB descriptors); cbir-node's `loadOpenCv()`. */
  cv?: unknown;
}

/** Builds an extractor of one kind from its spec. */
export type ExtractorFactory = (
  spec: ExtractorSpec,
  context: ExtractorContext,
) => FeatureExtractor | Promise<FeatureExtractor>;

const registry = new Map<string, ExtractorFactory>();
// cbir's own kinds, listed here rather than registered by side effect (the packages are side-effect free).
for (const kind of ['fused', ...BLOCK_KINDS])
  registry.set(kind, (spec) => new BlockExtractor(blocksOf(spec), { kind, state: spec.state }));
registry.set('tfjs-model', (spec, context) => pretrainedFromSpec(spec, context.model));
registry.set('autoencoder', (spec, context) => autoencoderFromSpec(spec, context.model));
registry.set('bow', (spec, context) => bowFromSpec(spec, context.cv));
registry.set('fusion', async (spec, context) => {
  const members = fusionMembers(spec);
  const built = await Promise.all(
    members.map(async (m) => ({ extractor: await createExtractor(m.spec, context), norm: m.norm, weight: m.weight })),
  );
  const stats = Object.fromEntries(Object.entries(spec.state ?? {}).filter(([name]) => /^(mean|std)\.\d+$/.test(name)));
  return new FusionExtractor(built, stats);
});

/**
 * Adds (or replaces) an extractor kind. cbir's own kinds are there from the start; a plugin adds more the same way.
 *
 * @example
 * ```ts
 * registerExtractor('mean-colour', (spec) => new MeanColourExtractor(spec.options));
 * ```
 */
export function registerExtractor(kind: string, factory: ExtractorFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `registerExtractor: kind must be lower-case letters, digits and dashes, got ${JSON.stringify(kind)}.`,
    );
  registry.set(kind, factory);
}

/**
 * The registered extractor kinds, sorted.
 *
 * @example
 * ```ts
 * extractorKinds();   // ['autoencoder', 'bow', 'colorgrid', 'colorhist', 'fused', 'fusion', 'hog', 'lbp', 'moments', 'tfjs-model']
 * ```
 */
export function extractorKinds(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Builds an extractor from its spec (a saved one restores its fitted state).
 *
 * @throws {@link CbirError} `INVALID_ARGUMENT` for an unknown kind, naming the known ones.
 * @example
 * ```ts
 * const fx = await createExtractor({ kind: 'lbp', options: { radii: [1, 2] } });
 * const again = await createExtractor(index.extractor!);   // as the index was built
 * ```
 */
export async function createExtractor(spec: ExtractorSpec, context: ExtractorContext = {}): Promise<FeatureExtractor> {
  const factory = registry.get(spec?.kind);
  if (!factory)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `createExtractor: unknown extractor kind ${JSON.stringify(spec?.kind)}; known: ${extractorKinds().join(', ')}.`,
    );
  return factory(
    { kind: spec.kind, options: spec.options ?? {}, ...(spec.state ? { state: spec.state } : {}) },
    context,
  );
}
