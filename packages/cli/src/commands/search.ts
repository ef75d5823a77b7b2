import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CbirError, composeQuery, type QueryExample, type SearchHit } from 'cbir-core';
import { buildMontage, buildNotebookMontage, writeFileAtomic } from 'cbir-node';
import { openQueryEmbedderFor } from '../query-model.js';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, openIndexArg, INDEX_MEANINGS } from '../index-arg.js';
import { positiveInt, WEIGHT_FILE_MEANINGS } from '../model-args.js';
import { chooseReranker, type RerankChoice } from '../rerank-arg.js';
import { UsageError } from '../usage.js';
import { flagList } from '../flags.js';

const OPTIONS = {
  ...INDEX_FLAGS,
  query: { type: 'string', multiple: true },
  id: { type: 'string', multiple: true },
  not: { type: 'string', multiple: true },
  'not-id': { type: 'string', multiple: true },
  'not-weight': { type: 'string', default: '0.25' },
  k: { type: 'string', short: 'k', default: '10' },
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  montage: { type: 'string' },
  layout: { type: 'string', default: 'captioned' },
  rerank: { type: 'string', default: 'auto' },
  where: { type: 'string' },
  'max-distance': { type: 'string' },
  'min-similarity': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  ...INDEX_MEANINGS,
  query: ['IMAGE', 'a new image to search with (repeat for several: results like all of them)'],
  id: ['ID', 'an indexed item to search from (itself excluded; repeatable, and with --query)'],
  not: ['IMAGE', 'an image the results should not look like (repeatable)'],
  'not-id': ['ID', 'an indexed item the results should not look like (repeatable)'],
  'not-weight': ['W', "how hard the --not examples push away (Rocchio's gamma)"],
  k: ['N', 'results'],
  model: ['DIR|FILE.pt', 'the model that embedded the collection (for --query)'],
  ...WEIGHT_FILE_MEANINGS,
  montage: ['FILE.png', 'draw the query and its results'],
  layout: ['captioned|notebook', "the montage: a captioned grid, or the notebook's 5 x 2 build_montages"],
  rerank: ['auto|diffusion|qe|none', "re-ranking: the index's saved re-ranker (auto), another, or none"],
  where: ['EXPR', "only items passing this filter (SQL: label IN ('beach', 'food') AND path LIKE '%2024%')"],
  'max-distance': ['D', 'drop results farther than D (in the index metric): few results when nothing is close'],
  'min-similarity': ['S', 'cosine indexes: drop results less similar than S (1 - cosine distance)'],
  json: 'machine-readable output: one JSON object per line',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir search ${INDEX_USAGE} (--query IMAGE [--model DIR|FILE.pt [--arch v1|v2] [--size S]] | --id ID) [-k 10]
                   [--query IMAGE | --id ID ...] [--not IMAGE | --not-id ID ... [--not-weight 0.25]]
                   [--where EXPR] [--max-distance D | --min-similarity S]
                   [--rerank auto|diffusion|qe|none] [--montage out.png [--layout captioned|notebook]] [--json]

Finds the k items nearest to a new image (embedded with --model exactly as the collection was: same resize, encoder
and the reducer saved in the index; a PyTorch weight file is read into --arch at --size, as cbir embed does; a model
with other weights than the one that embedded the collection is refused) or to an indexed item (--id, itself excluded). The index may be a cbir index or the notebook's lsh.p (a pickled lshashpy3 LSHash, queried as its
hamming query). --montage writes the query and its results as a labelled grid with distances; --layout notebook
writes the notebook's build_montages(results, (512, 512), (5, 2)) instead: the first 10 results as bare 512-px tiles,
5 by 2, the query not in it (the notebook shows it apart).
An index of hand-crafted features (cbir features: fused, colorgrid, ...) extracts --query itself, with the blocks and
collection statistics saved in it: no --model. --rerank auto (the default) uses the re-ranker saved with the index
(cbir index --rerank), if any; diffusion and qe re-rank with it or without; none turns it off.
--where keeps only the items passing a filter over id, path and label, in the SQL that LanceDB takes (comparisons,
AND, OR, NOT, IN, BETWEEN, LIKE, IS NULL): exact on exact indexes, searched deeper on approximate ones, pushed down to
LanceDB on a LanceDB table. --max-distance (or, on a cosine index, --min-similarity) drops results that are not close,
so a query with no close match gets few results instead of k unrelated ones.
Several --query and --id examples, and --not / --not-id ones, make one query (Rocchio's relevance feedback): the mean
of the positive examples minus --not-weight times the mean of the negative ones (each example unit-normalised first on
a cosine index); the examples that are indexed items are left out of the results.

${flagList(OPTIONS, MEANINGS)}`;

export async function search(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) return console.log(HELP);
  const positives = [...(values.query ?? []), ...(values.id ?? [])];
  if (positives.length === 0) throw new UsageError(`--query IMAGE or --id ID is required.\n\n${HELP}`);
  const notWeight = Number(values['not-weight']);
  if (!(Number.isFinite(notWeight) && notWeight >= 0))
    throw new UsageError(`--not-weight must be a number >= 0, got "${values['not-weight']}".`);
  checkIndexArgs(values);
  const k = positiveInt('k', values.k!);
  if (values.layout !== 'captioned' && values.layout !== 'notebook')
    throw new UsageError(`--layout must be captioned or notebook, got "${values.layout}".`);
  if (!['auto', 'diffusion', 'qe', 'none'].includes(values.rerank!))
    throw new UsageError(`--rerank must be auto, diffusion, qe or none, got "${values.rerank}".`);
  if (values['max-distance'] !== undefined && values['min-similarity'] !== undefined)
    throw new UsageError('give --max-distance or --min-similarity, not both.');
  const number = (flag: 'max-distance' | 'min-similarity', low: number, high: number) => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const v = Number(text);
    if (text.trim() === '' || !(v >= low && v <= high))
      throw new UsageError(`--${flag} must be a number from ${low} to ${high}, got "${text}".`);
    return v;
  };
  let maxDistance = number('max-distance', 0, Number.MAX_VALUE);
  const minSimilarity = number('min-similarity', -1, 1);
  const opened = await openIndexArg(values);
  const { retriever, name: source } = opened;
  if (minSimilarity !== undefined) {
    if (retriever.index.metric !== 'cosine') {
      await opened.close();
      throw new UsageError(
        `--min-similarity needs a cosine index; ${source} is ${retriever.index.metric}: use --max-distance.`,
      );
    }
    maxDistance = 1 - minSimilarity;
  }
  const { index } = retriever;
  let hits: SearchHit[];
  let queryPath: string;
  try {
    chooseReranker(retriever, values.rerank as RerankChoice);
    const examples = { positive: [] as QueryExample[], negative: [] as QueryExample[] };
    const exclude = new Set<number>();
    const named: string[] = [];
    const byId = async (text: string, flag: string) => {
      const id = Number(text);
      const v = Number.isInteger(id) && id >= 0 ? await index.vector(id) : undefined;
      if (!v) {
        // Ids are the feature file's rows until items are added or removed: then name the range held.
        const ids = await index.idList();
        const lo = ids.reduce((a, b) => Math.min(a, b), Infinity);
        const hi = ids.reduce((a, b) => Math.max(a, b), -1);
        throw new CbirError(
          'INVALID_ARGUMENT',
          `${flag} ${text} is not in ${source} (it holds ${ids.length} ids${ids.length ? `, from ${lo} to ${hi}` : ''}; cbir search --json lists them with the results).`,
        );
      }
      exclude.add(id);
      return { id, vector: v };
    };
    for (const text of values.id ?? []) {
      const { id, vector } = await byId(text, '--id');
      examples.positive.push({ vector });
      named.push((await index.metadata(id))?.path ?? String(id));
    }
    for (const text of values['not-id'] ?? [])
      examples.negative.push({ vector: (await byId(text, '--not-id')).vector });
    const images = [...(values.query ?? []), ...(values.not ?? [])].map((f) => resolve(f));
    if (images.length > 0) {
      retriever.embedder = await openQueryEmbedderFor(retriever, values, (note) =>
        process.stderr.write(`cbir search: ${note}\n`),
      );
      for (const [i, file] of images.entries()) {
        const vector = await retriever.embedder.embed(file);
        if (i < (values.query ?? []).length) examples.positive.push({ vector });
        else examples.negative.push({ vector });
      }
    }
    queryPath = values.query?.length ? resolve(values.query[0]) : named[0];
    const single = examples.positive.length === 1 && examples.negative.length === 0;
    const vector = single
      ? examples.positive[0].vector
      : composeQuery(examples.positive, examples.negative, { negativeWeight: notWeight, metric: index.metric });
    // One indexed example: left out as the search's own item (re-rankers query as that item); several: searched
    // deeper, and every example left out.
    const self = single && exclude.size === 1 ? [...exclude][0] : undefined;
    const extra = self === undefined ? exclude.size : 0;
    const found = await retriever.search({ data: vector, rows: 1, cols: vector.length }, k + extra, {
      self: [self],
      where: values.where,
      maxDistance,
    });
    const kept = Array.from(found.ids.keys()).filter((j) => found.ids[j] >= 0 && !exclude.has(found.ids[j]));
    const res = {
      k: Math.min(k, kept.length),
      ids: kept.slice(0, k).map((j) => found.ids[j]),
      distances: kept.slice(0, k).map((j) => found.distances[j]),
    };
    hits = [];
    for (let j = 0; j < res.k; j++)
      if (res.ids[j] >= 0)
        hits.push({ id: res.ids[j], distance: res.distances[j], ...(await index.metadata(res.ids[j])) });
  } finally {
    await opened.close();
  }
  if (values.montage) {
    const tiles = [
      { path: queryPath, caption: 'query', highlight: true },
      ...hits.map((h, j) => ({
        path: h.path ?? '',
        caption: `#${j + 1} ${h.distance.toFixed(3)}${h.label ? ` ${h.label}` : ''}`,
      })),
    ];
    const png =
      values.layout === 'notebook'
        ? await buildNotebookMontage(hits.map((h) => h.path ?? ''))
        : await buildMontage(tiles);
    await writeFileAtomic(resolve(values.montage), png);
  }
  if (values.json)
    console.log(
      JSON.stringify({
        query: queryPath,
        ...(positives.length > 1 || values.not || values['not-id']
          ? { positives, negatives: [...(values.not ?? []), ...(values['not-id'] ?? [])] }
          : {}),
        results: hits,
      }),
    );
  else {
    console.log(`query: ${queryPath}`);
    hits.forEach((h, j) =>
      console.log(`${String(j + 1).padStart(3)}  ${h.distance.toFixed(4)}  ${h.label ?? ''}  ${h.path ?? h.id}`),
    );
    if (values.montage) console.log(`montage: ${values.montage}`);
  }
}
