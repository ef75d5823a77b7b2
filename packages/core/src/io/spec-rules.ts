import { FormatError } from '../errors.js';

/**
 * A saved component of a pipeline (a feature extractor, a re-ranker): its kind, its options (JSON) and its fitted
 * state (named float32 arrays; other types are stored bit for bit in float32 views). It is saved with the features
 * and the index it belongs to, in their framed files.
 */
export interface SavedSpec {
  kind: string;
  options: Record<string, unknown>;
  /** Fitted state, by name; absent before fitting or for components with none. */
  state?: Record<string, Float32Array>;
}

// What a saved extractor or re-ranker may say, field by field: the type, the range, whole numbers where a count
// belongs, and no key the kind does not know. A file's checksum proves only that its bytes are the ones written; these
// rules refuse a header that was written with hostile values (a block weight of 1e9, 9007199254740993 where an integer
// belongs, 1.5 grid cells, "None"), which would otherwise load and answer differently without a word.
//
// Written here rather than with a schema library: the rules are a few dozen fields, the messages must name the file
// and the field's path, and cbir-core takes no runtime dependency for it (ajv compiles with `new Function`, which a
// page's content security policy forbids).

/** One field's rule (see {@link checkFields}). @internal */
export type Rule =
  | { int: readonly [number, number] }
  | { num: readonly [number, number]; above?: boolean }
  | { oneOf: readonly (string | boolean)[] }
  | { bool: true }
  | { str: number }
  | { ints: readonly [number, number]; length: readonly [number, number] }
  | { list: Shape | ((value: unknown, path: string) => void); length: readonly [number, number] }
  | { shape: Shape }
  | { either: readonly Rule[] }
  | { nullOr: Rule }
  | { check: (value: unknown, path: string) => void };
/** An object's fields and their rules; a key not named is refused. @internal */
export type Shape = Readonly<Record<string, Rule>>;

const NORMS = ['hellinger', 'zscore', 'l2', 'none'] as const;
const GRID: Rule = { int: [1, 64] };

/** Each hand-crafted block's own options. */
const BLOCK_OPTIONS: Record<string, Shape> = {
  colorhist: {
    space: { oneOf: ['hsv', 'rgb'] },
    bins: { either: [{ int: [1, 256] }, { ints: [1, 256], length: [3, 3] }] },
    joint: { bool: true },
    normalize: { oneOf: ['l1', 'l2', 'none'] },
  },
  colorgrid: { bins: { ints: [1, 256], length: [3, 3] }, grid: GRID },
  lbp: { radii: { ints: [1, 32], length: [1, 8] }, grid: GRID },
  moments: { grid: GRID },
  hog: { size: { int: [16, 4096] }, cell: { int: [2, 1024] }, bins: { int: [2, 64] } },
};

const WEIGHT: Rule = { num: [0, 1000], above: true };
/** A block of a `fused` (or single-block) extractor, without its kind. */
const BLOCK_FIELDS: Shape = {
  norm: { oneOf: NORMS },
  weight: WEIGHT,
  crop: { bool: true },
  short: { int: [16, 4096] },
};

function block(value: unknown, path: string): void {
  const b = object(value, path);
  const kind = b.kind;
  if (typeof kind !== 'string' || !(kind in BLOCK_OPTIONS))
    fail(path + '.kind', kind, `one of ${Object.keys(BLOCK_OPTIONS).join(', ')}`);
  checkShape(b, { kind: { str: 16 }, options: { shape: BLOCK_OPTIONS[kind as string] }, ...BLOCK_FIELDS }, path);
}

/** Options of the hand-crafted kinds: `{ blocks }` as saved, or one block's options flat (older files). */
function blockExtractorOptions(kind: string): (options: Record<string, unknown>, path: string) => void {
  return (options, path) => {
    if ('blocks' in options) checkShape(options, { blocks: { list: block, length: [1, 16] } }, path);
    else if (kind !== 'fused') checkShape(options, { ...BLOCK_OPTIONS[kind], ...BLOCK_FIELDS }, path);
    else checkShape(options, {}, path);
  };
}

const REDUCER: Shape = {
  kind: { oneOf: ['none', 'avgpool', 'rp', 'pca'] },
  latentShape: { ints: [1, 1 << 16], length: [3, 3] },
  dim: { int: [1, 1 << 20] },
  seed: { int: [0, 2 ** 32] },
  l2: { bool: true },
};

/** The option rules of cbir's extractor kinds; a kind registered by a plugin is checked by its own factory. */
const EXTRACTOR_OPTIONS: Record<string, (options: Record<string, unknown>, path: string) => void> = {
  ...Object.fromEntries(['fused', ...Object.keys(BLOCK_OPTIONS)].map((k) => [k, blockExtractorOptions(k)])),
  'tfjs-model': (o, path) =>
    checkShape(
      o,
      {
        inputSize: { int: [8, 4096] },
        scaling: { oneOf: ['unit', 'symmetric', 'imagenet', 'raw'] },
        output: { str: 256 },
        pool: { oneOf: ['avg', 'max', 'none'] },
        l2: { bool: true },
        source: { str: 4096 },
        model: { str: 256 },
      },
      path,
    ),
  autoencoder: (o, path) =>
    checkShape(
      o,
      { architecture: { str: 64 }, inputSize: { int: [8, 4096] }, model: { str: 256 }, reducer: { shape: REDUCER } },
      path,
    ),
  bow: (o, path) =>
    checkShape(
      o,
      {
        k: { int: [1, 1 << 16] },
        encoding: { oneOf: ['bytes', 'bits'] },
        tfidf: { bool: true },
        l2: { bool: true },
        cols: { int: [1, 4096] },
        nFeatures: { int: [1, 1 << 16] },
        size: { either: [{ int: [8, 4096] }, { oneOf: ['original'] }] },
      },
      path,
    ),
  fusion: (o, path) =>
    checkShape(
      o,
      {
        members: {
          list: (m, at) => {
            const member = object(m, at);
            checkShape(
              member,
              {
                kind: { str: 64 },
                options: { check: (options, p) => extractorOptions(String(member.kind), object(options, p), p) },
                state: {
                  list: (s, p) => (typeof s === 'string' && s.length <= 64) || fail(p, s, 'a name'),
                  length: [0, 64],
                },
                norm: { oneOf: NORMS },
                weight: WEIGHT,
              },
              at,
            );
          },
          length: [1, 16],
        },
      },
      path,
    ),
};

const RERANK_OPTIONS: Record<string, Shape> = {
  diffusion: {
    k: { int: [1, 1000] },
    alpha: { num: [0, 1], above: true },
    gamma: { num: [0, 16], above: true },
    tol: { num: [0, 1], above: true },
    maxIterations: { int: [1, 100_000] },
  },
  qe: { k: { int: [1, 1000] }, alpha: { num: [0, 100] } },
};

/** A field that breaks its rule; {@link checkSavedSpec} names the file around it. */
class RuleError extends Error {}

/**
 * Checks every field of a saved extractor's or re-ranker's options against its kind's rules; a kind cbir does not
 * know (a plugin's) is left to its factory.
 *
 * @throws {@link FormatError} naming `file`, the field's path, what it holds and what is expected.
 * @internal
 */
export function checkSavedSpec(spec: SavedSpec, what: 'feature extractor' | 're-ranker', file: string): void {
  try {
    if (what === 're-ranker') {
      const shape = RERANK_OPTIONS[spec.kind];
      if (!shape) fail('kind', spec.kind, `one of ${Object.keys(RERANK_OPTIONS).join(', ')}`);
      checkShape(spec.options, shape, 'options');
    } else extractorOptions(spec.kind, spec.options, 'options');
    for (const [name, values] of Object.entries(spec.state ?? {}))
      for (let i = 0; i < values.length; i++)
        if (!Number.isFinite(values[i])) fail(`state.${name}[${i}]`, values[i], 'a finite number');
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    throw new FormatError(`${file}'s ${what} (${spec.kind}): ${e.message}. Build it again.`);
  }
}

/**
 * Checks `value` (a header parsed from a file) against `shape`: every field's type and range, whole numbers where a
 * count belongs, and no key the shape does not name.
 *
 * @throws {@link FormatError} `${where}: field is X; expected Y. ${fix}`.
 * @internal
 */
export function checkFields(value: unknown, shape: Shape, where: string, fix: string): void {
  try {
    checkShape(object(value, 'header'), shape, 'header');
  } catch (e) {
    if (!(e instanceof RuleError)) throw e;
    throw new FormatError(`${where}: ${e.message}. ${fix}`);
  }
}

function extractorOptions(kind: string, options: Record<string, unknown>, path: string): void {
  EXTRACTOR_OPTIONS[kind]?.(options, path);
}

function checkShape(value: Record<string, unknown>, shape: Shape, path: string): void {
  for (const [key, v] of Object.entries(value)) {
    const rule = shape[key];
    if (!rule) fail(`${path}.${key}`, v, `no such field (known: ${Object.keys(shape).join(', ') || 'none'})`);
    checkRule(v, rule, `${path}.${key}`);
  }
}

function checkRule(v: unknown, rule: Rule, path: string): void {
  if ('int' in rule) {
    if (!Number.isSafeInteger(v) || (v as number) < rule.int[0] || (v as number) > rule.int[1])
      fail(path, v, `a whole number from ${rule.int[0]} to ${rule.int[1]}`);
  } else if ('num' in rule) {
    const [lo, hi] = rule.num;
    if (typeof v !== 'number' || !(rule.above ? v > lo : v >= lo) || !(v <= hi))
      fail(path, v, `a number ${rule.above ? 'above' : 'from'} ${lo} ${rule.above ? 'up ' : ''}to ${hi}`);
  } else if ('oneOf' in rule) {
    if (!rule.oneOf.includes(v as string)) fail(path, v, `one of ${rule.oneOf.join(', ')}`);
  } else if ('bool' in rule) {
    if (typeof v !== 'boolean') fail(path, v, 'true or false');
  } else if ('str' in rule) {
    if (typeof v !== 'string' || v.length > rule.str) fail(path, v, `text of at most ${rule.str} characters`);
  } else if ('ints' in rule) {
    list(v, rule.length, path).forEach((x, i) => checkRule(x, { int: rule.ints }, `${path}[${i}]`));
  } else if ('list' in rule) {
    const each = rule.list;
    list(v, rule.length, path).forEach((x, i) =>
      typeof each === 'function'
        ? each(x, `${path}[${i}]`)
        : checkShape(object(x, `${path}[${i}]`), each, `${path}[${i}]`),
    );
  } else if ('shape' in rule) {
    checkShape(object(v, path), rule.shape, path);
  } else if ('nullOr' in rule) {
    if (v !== null) checkRule(v, rule.nullOr, path);
  } else if ('either' in rule) {
    const errors: string[] = [];
    for (const r of rule.either) {
      try {
        return checkRule(v, r, path);
      } catch (e) {
        if (!(e instanceof RuleError)) throw e;
        errors.push(e.message.replace(/^.*; expected /, ''));
      }
    }
    fail(path, v, errors.join(', or '));
  } else rule.check(v, path);
}

function list(v: unknown, [min, max]: readonly [number, number], path: string): unknown[] {
  if (!Array.isArray(v) || v.length < min || v.length > max)
    fail(path, v, `a list of ${min === max ? min : `${min} to ${max}`} values`);
  return v as unknown[];
}

function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, v, 'an object');
  return v as Record<string, unknown>;
}

function fail(path: string, value: unknown, expected: string): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new RuleError(`${path} is ${shown.length > 60 ? shown.slice(0, 60) + '...' : shown}; expected ${expected}`);
}
