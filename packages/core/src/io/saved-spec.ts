import { FormatError } from '../errors.js';
import type { Framed } from './framed-file.js';
import { checkSavedSpec, type SavedSpec } from './spec-rules.js';

export type { SavedSpec } from './spec-rules.js';

/**
 * The spec's JSON part and its arrays, for a framed file's header and body.
 * @internal
 */
export function specToFramed(spec: SavedSpec | undefined): { header: unknown; arrays: Float32Array[] } {
  if (!spec) return { header: undefined, arrays: [] };
  const names = Object.keys(spec.state ?? {}).sort();
  return {
    header: {
      kind: spec.kind,
      options: spec.options,
      state: names.map((name) => ({ name, length: spec.state![name].length })),
    },
    arrays: names.map((n) => spec.state![n]),
  };
}

/**
 * Reads back {@link specToFramed}'s header and arrays (taken next from `f`), checking its fields.
 * @internal
 */
export function specFromFramed(
  header: unknown,
  f: Pick<Framed<unknown>, 'take'>,
  source: string,
  what: 'feature extractor' | 're-ranker',
): SavedSpec | undefined {
  if (header === undefined || header === null) return undefined;
  const h = header as { kind: unknown; options: unknown; state: { name: unknown; length: unknown }[] };
  const ok =
    typeof h.kind === 'string' &&
    typeof h.options === 'object' &&
    h.options !== null &&
    Array.isArray(h.state) &&
    h.state.every((s) => typeof s?.name === 'string' && Number.isSafeInteger(s.length) && (s.length as number) >= 0);
  if (!ok) throw new FormatError(`${source} has a malformed ${what} record (kind, options, state). Build it again.`);
  const state: Record<string, Float32Array> = {};
  for (const s of h.state) state[s.name as string] = f.take(s.length as number);
  const spec = {
    kind: h.kind as string,
    options: h.options as Record<string, unknown>,
    ...(h.state.length ? { state } : {}),
  };
  checkSavedSpec(spec, what, source);
  return spec;
}
