import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CbirError } from 'cbir-core';
import { queryNeedsModel, type SyncReport } from 'cbir-node';
import { openQueryEmbedderFor } from '../query-model.js';
import { readClusterAssignments } from '../serve/clusters.js';
import { readDuplicateReport } from '../serve/duplicates.js';
import { createSearchServer, snapshotItems } from '../serve/server.js';
import { INDEX_FLAGS, INDEX_USAGE, checkIndexArgs, openIndexArg, INDEX_MEANINGS } from '../index-arg.js';
import { chooseReranker } from '../rerank-arg.js';
import { positiveInt, WEIGHT_FILE_MEANINGS } from '../model-args.js';
import { UsageError } from '../usage.js';
import { flagList, BACKEND_FLAG, BACKEND_MEANING, applyBackendFlag } from '../flags.js';

const OPTIONS = {
  ...INDEX_FLAGS,
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  token: { type: 'string' },
  clusters: { type: 'string' },
  'cluster-k': { type: 'string' },
  duplicates: { type: 'string' },
  watch: { type: 'string' },
  rescan: { type: 'string', default: '300' },
  'max-upload-mb': { type: 'string', default: '20' },
  'max-megapixels': { type: 'string', default: '40' },
  queue: { type: 'string', default: '32' },
  'request-timeout': { type: 'string', default: '60' },
  'shutdown-grace': { type: 'string', default: '10' },
  rerank: { type: 'string', default: 'auto' },
  log: { type: 'boolean', default: false },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  ...INDEX_MEANINGS,
  model: ['DIR|FILE.pt', 'the model that embedded the collection (uploads need it)'],
  ...WEIGHT_FILE_MEANINGS,
  port: ['N', 'the port (0 picks a free one)'],
  host: ['ADDR', 'the address to bind'],
  token: ['TOKEN', 'require it on every /api/ request (also from CBIR_TOKEN)'],
  clusters: ['FILE', "cbir cluster's assignments.csv"],
  'cluster-k': ['K', 'its column (default: the largest k)'],
  duplicates: ['FILE', 'cbir dedup --report FILE: review its groups of duplicates on the page'],
  watch: ['DIR', 'follow this folder: new, changed and deleted files are synced into the index and served'],
  rescan: ['S', 'with --watch: a full rescan every S seconds, whatever the file events said'],
  'max-upload-mb': ['N', 'the largest upload'],
  'max-megapixels': ['N', 'the most pixels an upload may have'],
  queue: ['N', 'uploads received or embedded at once; more are answered 503 BUSY'],
  'request-timeout': ['S', 'seconds a client may take to send a request (headers: at most 10, idle: at most 30)'],
  'shutdown-grace': ['S', 'seconds requests in flight get after Ctrl-C before their sockets are closed'],
  rerank: ['auto|none', "the index's saved re-ranker, or none"],
  log: 'log each request as a JSON line',
  ...BACKEND_MEANING,
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir serve ${INDEX_USAGE} [--model DIR|FILE.pt [--arch v1|v2] [--size S]]
                  [--port 8080] [--host 127.0.0.1] [--token TOKEN] [--clusters assignments.csv [--cluster-k K]]
                  [--duplicates report.json] [--watch DIR [--rescan 300]] [--rerank auto|none] [--max-upload-mb 20] [--max-megapixels 40] [--queue 32]
                  [--request-timeout 60] [--shutdown-grace 10] [--log]

Serves an index to a browser: open http://127.0.0.1:8080/ to drop in a photo and see the most similar ones, click a
result to see its neighbours, filter by label, browse clusters, review duplicates (each group side by side with the
copy to keep first). A JSON API underneath (POST /api/search with an image, GET /api/similar/:id, /api/items/:id,
/api/thumb/:id, /api/clusters, /api/duplicates, /api/info, /healthz) answers errors as
{"error": {"code", "message"}}.

New images are embedded exactly as cbir search --query embeds them: the extractor saved in the index, or --model (the
model that embedded the collection, checked against the index). Without --model, a model-made index is served for
browsing and similar-item search only.

With --watch DIR the index follows the folder as cbir sync would (new files embedded and added, changed ones embedded
again, deleted ones removed), at start and then on every change (debounced file events, and a full rescan every
--rescan seconds); the index file is rewritten after each sync (a LanceDB table commits as it goes) and the page shows
the new items without a restart. It needs what embeds new images (the index's extractor, or --model).

Binding an address other than 127.0.0.1 without --token prints a warning: anyone who reaches the port can search and
see the thumbnails. CBIR_TOKEN keeps the token out of the process list.

A client that stalls is closed: headers must arrive within 10 s, a whole request within --request-timeout, and a
connection silent for 30 s is closed. At most --queue uploads are received or embedded at once; more are answered 503
BUSY before their bodies are read.

Ctrl-C (or SIGTERM) stops accepting connections, gives the requests in flight --shutdown-grace seconds to finish,
closes what is left, and exits 0; a second Ctrl-C exits at once (130).

${flagList(OPTIONS, MEANINGS)}`;

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: OPTIONS,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  checkIndexArgs(values);
  applyBackendFlag(values.backend);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be an integer in 0..65535, got "${values.port}".`);
  const maxUploadMb = Number(values['max-upload-mb']);
  if (!(maxUploadMb > 0 && maxUploadMb <= 1024))
    throw new UsageError(`--max-upload-mb must be a number in (0, 1024], got "${values['max-upload-mb']}".`);
  const maxMegapixels = Number(values['max-megapixels']);
  if (!(maxMegapixels > 0 && maxMegapixels <= 1000))
    throw new UsageError(`--max-megapixels must be a number in (0, 1000], got "${values['max-megapixels']}".`);
  const queue = positiveInt('queue', values.queue!);
  const seconds = (flag: 'request-timeout' | 'shutdown-grace') => {
    const s = Number(values[flag]);
    if (!(s > 0 && s <= 3600))
      throw new UsageError(`--${flag} must be a number of seconds in (0, 3600], got "${values[flag]}".`);
    return s * 1000;
  };
  const requestMs = seconds('request-timeout');
  const timeouts = {
    requestMs,
    headersMs: Math.min(10_000, requestMs),
    idleMs: Math.min(30_000, requestMs),
    shutdownGraceMs: seconds('shutdown-grace'),
  };
  if (values.rerank !== 'auto' && values.rerank !== 'none')
    throw new UsageError(`--rerank must be auto or none, got "${values.rerank}".`);
  const clusterK = values['cluster-k'] === undefined ? undefined : positiveInt('cluster-k', values['cluster-k']);
  if (clusterK !== undefined && !values.clusters)
    throw new UsageError('--cluster-k goes with --clusters assignments.csv.');
  const token = values.token ?? process.env.CBIR_TOKEN;
  if (token !== undefined && token.length < 8)
    throw new UsageError(
      '--token must be at least 8 characters: it is the only thing between the port and your photos.',
    );
  const rescan = Number(values.rescan);
  if (!(rescan >= 1 && rescan <= 86_400))
    throw new UsageError(`--rescan must be a number of seconds in [1, 86400], got "${values.rescan}".`);
  const host = values.host!;
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);

  const opened = await openIndexArg(values);
  try {
    const { retriever } = opened;
    const { index } = retriever;
    if (index.size === 0)
      throw new CbirError('INVALID_ARGUMENT', `${opened.name} holds no items: build it with cbir index first.`);
    if (values.model || !queryNeedsModel(retriever)) {
      retriever.embedder = await openQueryEmbedderFor(retriever, values, (note) =>
        process.stderr.write(`cbir serve: ${note}\n`),
      );
    } else if (values.watch) {
      throw new UsageError(
        `--watch embeds the folder's new files: ${opened.name} was embedded by a model, so pass it with --model.`,
      );
    } else {
      process.stderr.write(
        `cbir serve: no --model: new images cannot be searched, only indexed ones (pass the model that embedded ${opened.name} to search with uploads).\n`,
      );
    }
    // Every item's metadata, read once: for the clusters' check and for the server.
    const items = await snapshotItems(index);
    const clusters = values.clusters
      ? readClusterAssignments(await readFile(resolve(values.clusters), 'utf8'), items, values.clusters, clusterK)
      : undefined;
    const duplicates = values.duplicates ? await readDuplicateReport(resolve(values.duplicates)) : undefined;
    chooseReranker(retriever, values.rerank);
    const app = await createSearchServer({
      retriever,
      name: opened.name,
      clusters,
      duplicates,
      items,
      token,
      maxUploadBytes: Math.round(maxUploadMb * 1024 * 1024),
      maxPixels: Math.round(maxMegapixels * 1e6),
      maxQueue: queue,
      timeouts,
      logger: values.log,
      ...(values.watch
        ? {
            watch: {
              dir: resolve(values.watch),
              save: opened.save,
              rescanMs: rescan * 1000,
              onSync: ({ report, error }: { report?: SyncReport; error?: Error }) => {
                if (error) return void process.stderr.write(`cbir serve: --watch: ${error.message}\n`);
                const r = report!;
                const n = r.added.length + r.changed.length + r.touched.length + r.removed.length + r.duplicates;
                if (n || r.failed.length)
                  process.stderr.write(
                    `cbir serve: synced ${values.watch}: ${r.added.length} added, ${r.changed.length} changed, ${r.removed.length} removed${r.failed.length ? `, ${r.failed.length} unreadable (${r.failed.map((f) => f.path).join(', ')})` : ''} (now ${r.size} items)\n`,
                  );
              },
            },
          }
        : {}),
    });
    const address = await app.listen({ port, host });
    if (!loopback && token === undefined)
      process.stderr.write(
        `cbir serve: warning: listening on ${host} without --token: anyone who can reach this port can search the collection and see its images.\n`,
      );
    // The signals are handled before the address is printed: whoever reads it may stop the server at once.
    const stopped = new Promise<void>((done) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          process.stderr.write('cbir serve: stopped at once.\n');
          process.exit(130);
        }
        stopping = true;
        process.stderr.write(
          `cbir serve: ${signal}: finishing the requests in flight (Ctrl-C again to stop at once)…\n`,
        );
        void app.close().then(done);
      };
      process.on('SIGINT', () => stop('interrupted'));
      process.on('SIGTERM', () => stop('terminated'));
    });
    console.log(
      `cbir serve: ${opened.name} (${index.kind}, ${index.size} items, ${index.dim}-d)${retriever.embedder ? `, queries by ${retriever.embedder.description}` : ''}`,
    );
    console.log(
      `cbir serve: listening on ${address.replace('[::1]', 'localhost')}/${token ? ' (with a token: open /?token=TOKEN)' : ''}; Ctrl-C to stop`,
    );
    await stopped;
    process.stderr.write('cbir serve: stopped.\n');
    return 0;
  } finally {
    await opened.close();
  }
}
