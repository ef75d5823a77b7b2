import { CbirError } from '../errors.js';

/** Duplicates by file, as imagededup writes them: each file's duplicates (an empty list for none), symmetric. */
export type DuplicateMap = Readonly<Record<string, readonly string[]>>;

/**
 * imagededup's `evaluate(ground_truth, retrieved, metric='all')`: the mean over files of average precision, NDCG and
 * Jaccard similarity of each file's retrieved list, and the classification of every pair of files (class 0: not
 * duplicates, class 1: duplicates) as scikit-learn's `precision_recall_fscore_support` gives it (a zero division is 0).
 */
export interface DuplicateEvaluation {
  /** Mean average precision; the retrieved lists' order counts (best first). */
  map: number;
  /** Mean NDCG (binary relevance, log2 discount). */
  ndcg: number;
  /** Mean Jaccard similarity of the retrieved and true sets. */
  jaccard: number;
  /** `[class 0, class 1]`: of the pairs called non-duplicates, the share that are not; of those called duplicates, the share that are. */
  precision: [number, number];
  /** `[class 0, class 1]`: the share of non-duplicate pairs left alone, of duplicate pairs found. */
  recall: [number, number];
  /** `[class 0, class 1]` F1 scores. */
  f1_score: [number, number];
  /** `[class 0, class 1]`: how many pairs are not duplicates, and how many are. */
  support: [number, number];
}

function checkMap(name: string, map: DuplicateMap): void {
  for (const [file, dups] of Object.entries(map)) {
    if (!Array.isArray(dups))
      throw new CbirError('INVALID_ARGUMENT', `evaluateDuplicates: ${name}["${file}"] is not a list of file names.`);
    for (const d of dups) {
      if (!(d in map))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `evaluateDuplicates: ${name}["${file}"] names "${d}", which is not a key of ${name}; every duplicate must be a file of the map.`,
        );
      if (!map[d].includes(file))
        throw new CbirError(
          'INVALID_ARGUMENT',
          `evaluateDuplicates: ${name} is not symmetric: "${d}" is a duplicate of "${file}" but not the other way round.`,
        );
    }
  }
}

/** The unordered pairs of a map, each once, as "a\u0000b" with a < b. */
function pairsOf(map: DuplicateMap): Set<string> {
  const out = new Set<string>();
  for (const [a, dups] of Object.entries(map))
    for (const b of dups) if (a !== b) out.add(a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  return out;
}

const ratio = (num: number, den: number) => (den === 0 ? 0 : num / den);
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));

function averagePrecision(correct: ReadonlySet<string>, retrieved: readonly string[]): number {
  if (retrieved.length === 0 && correct.size === 0) return 1;
  if (retrieved.length === 0 || correct.size === 0) return 0;
  let hits = 0;
  let sum = 0;
  retrieved.forEach((r, k) => {
    if (correct.has(r)) sum += ++hits / (k + 1);
  });
  return sum / correct.size;
}

function ndcg(correct: ReadonlySet<string>, retrieved: readonly string[]): number {
  if (retrieved.length === 0 && correct.size === 0) return 1;
  if (retrieved.length === 0 || correct.size === 0) return 0;
  let dcg = 0;
  let hits = 0;
  retrieved.forEach((r, k) => {
    if (correct.has(r)) {
      dcg += 1 / Math.log2(k + 2);
      hits++;
    }
  });
  if (dcg === 0) return 0;
  // imagededup's ideal ranking sorts the retrieved list's own relevances (not the ground truth's size).
  let ideal = 0;
  for (let k = 0; k < hits; k++) ideal += 1 / Math.log2(k + 2);
  return dcg / ideal;
}

function jaccard(correct: ReadonlySet<string>, retrieved: readonly string[]): number {
  if (retrieved.length === 0 && correct.size === 0) return 1;
  if (retrieved.length === 0 || correct.size === 0) return 0;
  const got = new Set(retrieved);
  let both = 0;
  for (const r of got) if (correct.has(r)) both++;
  return both / (correct.size + got.size - both);
}

/**
 * Scores a duplicate finder's answer against the truth with imagededup's measures (its `evaluate`, metric `'all'`),
 * so that results compare with its published benchmark. Both maps must be symmetric, name only their own keys, and
 * have the same keys (imagededup's checks, which throw here with the file named).
 *
 * @throws {@link CbirError} INVALID_ARGUMENT for maps that fail those checks.
 * @example
 * ```ts
 * const truth = { 'a.jpg': ['b.jpg'], 'b.jpg': ['a.jpg'], 'c.jpg': [] };
 * const found = { 'a.jpg': ['b.jpg'], 'b.jpg': ['a.jpg'], 'c.jpg': [] };
 * evaluateDuplicates(truth, found).recall[1];   // 1: every duplicate pair found
 * ```
 */
export function evaluateDuplicates(truth: DuplicateMap, retrieved: DuplicateMap): DuplicateEvaluation {
  checkMap('truth', truth);
  checkMap('retrieved', retrieved);
  const files = Object.keys(truth);
  const missing = files.filter((f) => !(f in retrieved));
  const extra = Object.keys(retrieved).filter((f) => !(f in truth));
  if (missing.length || extra.length)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `evaluateDuplicates: truth and retrieved must have the same files; ${[...missing.map((f) => `"${f}" only in truth`), ...extra.map((f) => `"${f}" only in retrieved`)].slice(0, 5).join(', ')}${missing.length + extra.length > 5 ? ', ...' : ''}.`,
    );
  let map = 0;
  let nd = 0;
  let jac = 0;
  for (const f of files) {
    const correct = new Set(truth[f]);
    map += averagePrecision(correct, retrieved[f]);
    nd += ndcg(correct, retrieved[f]);
    jac += jaccard(correct, retrieved[f]);
  }
  const n = files.length;
  const truePairs = pairsOf(truth);
  const foundPairs = pairsOf(retrieved);
  let tp = 0;
  for (const p of foundPairs) if (truePairs.has(p)) tp++;
  const fp = foundPairs.size - tp;
  const fn = truePairs.size - tp;
  const tn = (n * (n - 1)) / 2 - tp - fp - fn;
  const precision: [number, number] = [ratio(tn, tn + fn), ratio(tp, tp + fp)];
  const recall: [number, number] = [ratio(tn, tn + fp), ratio(tp, tp + fn)];
  return {
    map: n ? map / n : 0,
    ndcg: n ? nd / n : 0,
    jaccard: n ? jac / n : 0,
    precision,
    recall,
    f1_score: [f1(precision[0], recall[0]), f1(precision[1], recall[1])],
    support: [tn + fp, tp + fn],
  };
}

/** A pair of files with the score a duplicate finder gave it. */
export interface ScoredPair {
  a: string;
  b: string;
  /** Larger is more alike (for a distance, pass its negative). */
  score: number;
}

/** One point of a precision-recall curve over pairs: what calling every pair scoring `>= threshold` a duplicate gives. */
export interface PrecisionRecallPoint {
  threshold: number;
  /** Class-1 precision: the share of the pairs called duplicates that are (1 when none is called). */
  precision: number;
  /** Class-1 recall: the share of the true duplicate pairs called duplicates. */
  recall: number;
}

/**
 * The precision-recall curve of a scored duplicate finder over pairs (imagededup's class 1), one point per distinct
 * score, from the highest threshold down. Pairs not scored are never called duplicates (recall stops short of 1 when
 * the finder left true pairs out).
 *
 * @example
 * ```ts
 * const curve = duplicatePrecisionRecall(truth, pairs.map(({ a, b, distance }) => ({ a: files[a], b: files[b], score: -distance })));
 * recallAtPrecision(curve, 0.99);   // the best recall with precision >= 0.99
 * ```
 */
export function duplicatePrecisionRecall(truth: DuplicateMap, pairs: readonly ScoredPair[]): PrecisionRecallPoint[] {
  checkMap('truth', truth);
  const truePairs = pairsOf(truth);
  const best = new Map<string, number>();
  for (const { a, b, score } of pairs) {
    if (a === b) continue;
    if (!(a in truth) || !(b in truth))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `duplicatePrecisionRecall: pair ("${a}", "${b}") names a file not in truth.`,
      );
    if (Number.isNaN(score))
      throw new CbirError('INVALID_ARGUMENT', `duplicatePrecisionRecall: pair ("${a}", "${b}") has a NaN score.`);
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    best.set(key, Math.max(best.get(key) ?? -Infinity, score));
  }
  const sorted = [...best].sort((x, y) => y[1] - x[1]);
  const curve: PrecisionRecallPoint[] = [];
  let tp = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (truePairs.has(sorted[i][0])) tp++;
    if (i + 1 < sorted.length && sorted[i + 1][1] === sorted[i][1]) continue;
    curve.push({ threshold: sorted[i][1], precision: tp / (i + 1), recall: ratio(tp, truePairs.size) });
  }
  return curve;
}

/**
 * The best recall on a precision-recall curve among the points whose precision is at least `minPrecision`, with that
 * point (`undefined` when no point reaches it).
 *
 * @example
 * ```ts
 * const { recall, threshold } = recallAtPrecision(curve, 0.99) ?? { recall: 0, threshold: Infinity };
 * ```
 */
export function recallAtPrecision(
  curve: readonly PrecisionRecallPoint[],
  minPrecision: number,
): PrecisionRecallPoint | undefined {
  let best: PrecisionRecallPoint | undefined;
  for (const p of curve) if (p.precision >= minPrecision && (!best || p.recall > best.recall)) best = p;
  return best;
}
