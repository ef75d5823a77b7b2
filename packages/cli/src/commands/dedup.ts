import { resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { duplicatesByFile, HASH_METHODS, KEEPER_RULE } from 'cbir-core';
import {
  DEFAULT_DUPLICATE_THRESHOLD,
  DUPLICATE_METHODS,
  directoryDataset,
  duplicateReport,
  findDuplicates,
  moveFiles,
  skippedNote,
  writeFileAtomic,
  type DuplicateMethod,
  type FoundDuplicates,
} from 'cbir-node';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';

const OPTIONS = {
  data: { type: 'string' },
  method: { type: 'string', default: 'orb' },
  threshold: { type: 'string' },
  out: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean', default: false },
  scores: { type: 'boolean', default: false },
  'move-to': { type: 'string' },
  apply: { type: 'boolean', default: false },
  encodings: { type: 'string' },
  features: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (searched recursively)'],
  method: [
    'NAME',
    `orb (keypoints: survives flips, rotations, crops), a perceptual hash (${HASH_METHODS.join(', ')}), or vector (--features)`,
  ],
  threshold: [
    'N',
    `orb: at least N keypoints agreeing (default ${DEFAULT_DUPLICATE_THRESHOLD.orb}); hashes: at most N of 64 bits apart (default ${DEFAULT_DUPLICATE_THRESHOLD.hash}); vector: at most this cosine distance (default ${DEFAULT_DUPLICATE_THRESHOLD.vector})`,
  ],
  out: ['FILE', "also write the duplicates as JSON ({ file: [duplicates] }, imagededup's shape)"],
  report: ['FILE', 'also write the groups, each copy with its size and the keeper first, for cbir serve --duplicates'],
  json: 'machine-readable output: the duplicates as JSON on stdout',
  scores:
    'with --json or --out: each duplicate as [file, score] (keypoints agreeing, bits apart, or cosine distance), best first',
  'move-to': [
    'DIR',
    'say which copies would move there (all but the keeper of each group); nothing moves without --apply',
  ],
  apply: 'with --move-to: move them (never deletes; paths kept under DIR; run again to finish an interrupted run)',
  encodings: ['FILE', "hashes: keep each file's hash there, and hash only new or changed files next time (resumable)"],
  features: ['FILE', "vector: the folder's features, from cbir features or cbir embed (any extractor or model)"],
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir dedup --data DIR [--method orb|phash|dhash|ahash|whash] [--threshold N] [--json [--scores]] [--out FILE] [--report FILE] [--move-to DIR [--apply]] [--encodings FILE]
       cbir dedup --data DIR --method vector --features FILE [--threshold D] ...

Finds the duplicates in a folder of images: the same photo re-saved, resized, recompressed, brightened, cropped,
rotated or flipped. By default (--method orb) by keypoints: ORB keypoints (OpenCV's) of each image and of its mirror
image are matched across the folder through hash tables, and two images are duplicates when at least --threshold
matches agree on one rotation, scale and shift; on bench:dedup's transformed photos this finds 0.99 of the duplicate
pairs at precision 0.99, flips and 25-degree rotations included. It needs @techstark/opencv-js.
The hashes (--method phash, ...) are imagededup's, bit for bit, and so is what counts as a duplicate there (hashes at
most --threshold bits apart, 10 by default): faster, but they do not survive flips, rotations or large crops.
--method vector compares the folder's features from any cbir extractor (cbir features --kind fused, a tfjs model, an
autoencoder from cbir embed): pairs at most --threshold apart in cosine distance, found through a cosine index (exact up
to 50,000 images, HNSW beyond), never by comparing every pair.
Images are read as stored (no EXIF rotation, as imagededup reads them).
Prints each group of duplicates with the copy to keep first (${KEEPER_RULE}); --json prints
{ file: [duplicates] } for every file, as imagededup's find_duplicates. --move-to DIR --apply moves the other copies
out of the folder into DIR; --report FILE saves the groups for review in cbir serve --duplicates FILE.

${flagList(OPTIONS, MEANINGS)}`;

export async function dedup(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) return console.log(HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${HELP}`);
  const method = values.method as DuplicateMethod;
  if (!DUPLICATE_METHODS.includes(method))
    throw new UsageError(`--method must be one of ${DUPLICATE_METHODS.join(', ')}, got "${values.method}".`);
  const hash = method !== 'orb' && method !== 'vector';
  const threshold =
    values.threshold === undefined
      ? DEFAULT_DUPLICATE_THRESHOLD[hash ? 'hash' : method === 'vector' ? 'vector' : 'orb']
      : Number(values.threshold);
  if (hash && !(Number.isInteger(threshold) && threshold >= 0 && threshold <= 64))
    throw new UsageError(`--threshold for a hash is a whole number of bits from 0 to 64, got "${values.threshold}".`);
  if (method === 'orb' && !(Number.isInteger(threshold) && threshold >= 4))
    throw new UsageError(`--threshold for orb is a whole number of keypoints, 4 or more, got "${values.threshold}".`);
  if (method === 'vector' && !(threshold >= 0 && threshold <= 2))
    throw new UsageError(`--threshold for vector is a cosine distance from 0 to 2, got "${values.threshold}".`);
  if ((method === 'vector') !== (values.features !== undefined))
    throw new UsageError(
      method === 'vector'
        ? "--method vector needs --features FILE: the folder's features (cbir features --data DIR --kind fused --out FILE)."
        : `--features goes with --method vector, not ${method}.`,
    );
  if (values.encodings && !hash)
    throw new UsageError('--encodings keeps hashes: use it with --method phash, dhash, ahash or whash.');
  if (values.apply && !values['move-to']) throw new UsageError('--apply needs --move-to DIR: where the copies go.');
  const [dataDir, moveDir] = [resolve(values.data), values['move-to'] && resolve(values['move-to'])];
  if (moveDir && (moveDir === dataDir || moveDir.startsWith(dataDir + sep)))
    throw new UsageError(`--move-to ${moveDir} is inside --data ${dataDir}: choose a folder outside it.`);
  const started = Date.now();
  // vector compares the feature file's rows: the folder is not walked, only its files in groups are read.
  const data = method === 'vector' ? undefined : await directoryDataset(dataDir, { size: 'original', orient: false });
  const note = data && skippedNote(data);
  if (note) process.stderr.write(`${note}\n`);
  const ctrlC = abortOnCtrlC('batch');
  let found: FoundDuplicates;
  try {
    found = await findDuplicates(data ?? dataDir, {
      method,
      threshold,
      encodings: values.encodings && resolve(values.encodings),
      features: values.features && resolve(values.features),
      signal: ctrlC.signal,
      onProgress: progressPrinter(values.json!),
    });
  } finally {
    ctrlC.dispose();
  }
  const { files, pairs } = found;
  if (values.encodings)
    process.stderr.write(
      `hashed ${files.length - found.reused} images; ${found.reused} from ${resolve(values.encodings)}\n`,
    );
  const byFile = duplicatesByFile(files, pairs, { scores: values.scores, lowerIsBetter: method !== 'orb' });
  if (values.out) await writeFileAtomic(resolve(values.out), Buffer.from(JSON.stringify(byFile, null, 1) + '\n'));
  const report = await duplicateReport(found);
  if (values.report) await writeFileAtomic(resolve(values.report), Buffer.from(JSON.stringify(report) + '\n'));
  const { groups } = report;
  if (!values.json)
    for (const { members } of groups)
      console.log(
        members
          .map(
            (m, j) =>
              `${j === 0 ? 'keep ' : '     '} ${m.file}  (${((m.width * m.height) / 1e6).toFixed(2)} MP, ${(m.bytes / 1024).toFixed(0)} KiB${m.exifFields ? `, ${m.exifFields} EXIF fields` : ''})`,
          )
          .join('\n') + '\n',
      );
  const moveTo = values['move-to'];
  if (moveTo) {
    const others = groups.flatMap((g) => g.members.slice(1).map((m) => m.file));
    const report = await moveFiles(dataDir, others, resolve(moveTo), { apply: values.apply });
    const where = resolve(moveTo);
    const finished = report.finished.length ? ` (${report.finished.length} already there from an earlier run)` : '';
    process.stderr.write(
      values.apply
        ? `moved ${report.moved.length} file${report.moved.length === 1 ? '' : 's'} to ${where}${finished}\n`
        : `dry run: ${report.moved.length} file${report.moved.length === 1 ? '' : 's'} would move to ${where}${finished}; add --apply to move them\n`,
    );
  }
  if (values.json) return console.log(JSON.stringify(byFile));
  const inGroups = groups.reduce((n, g) => n + g.members.length, 0);
  const rule = hash
    ? `within ${threshold} bits, ${method}`
    : method === 'vector'
      ? `within cosine distance ${threshold}, vector`
      : `${threshold}+ keypoints agreeing, orb`;
  const skipped = found.unreadable.length;
  console.log(
    `${groups.length} group${groups.length === 1 ? '' : 's'} of duplicates (${inGroups} of ${files.length} images, ${pairs.length} pairs ${rule}) in ${((Date.now() - started) / 1000).toFixed(1)} s${skipped ? `; ${skipped} unreadable files skipped` : ''}`,
  );
}
