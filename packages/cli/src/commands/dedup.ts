import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import {
  chooseKeeper,
  duplicateGroups,
  HASH_METHODS,
  hashDuplicates,
  KEEPER_RULE,
  imageHash,
  localFeatureDuplicates,
  mapImages,
  orbFeatures,
  type HashMethod,
} from 'cbir-core';
import { directoryDataset, fileFacts, loadOpenCv, moveFiles, skippedNote, writeFileAtomic } from 'cbir-node';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';

/** The modes: keypoints (the default, robust to flips, rotations and crops) or one of imagededup's hashes. */
const METHODS = ['orb', ...HASH_METHODS] as const;
type Method = (typeof METHODS)[number];

/**
 * Default thresholds, chosen on bench:dedup's transformed set (docs/guides/duplicates.md): 20 keypoints agreeing
 * (precision 0.99 there), and imagededup's 10 bits for the hashes.
 */
const DEFAULT_THRESHOLD = { orb: 20, hash: 10 };

const OPTIONS = {
  data: { type: 'string' },
  method: { type: 'string', default: 'orb' },
  threshold: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  scores: { type: 'boolean', default: false },
  'move-to': { type: 'string' },
  apply: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (searched recursively)'],
  method: [
    'NAME',
    `orb (keypoints: survives flips, rotations, crops) or a perceptual hash: ${HASH_METHODS.join(', ')}`,
  ],
  threshold: [
    'N',
    `orb: at least N keypoints agreeing (default ${DEFAULT_THRESHOLD.orb}); hashes: at most N of 64 bits apart (default ${DEFAULT_THRESHOLD.hash})`,
  ],
  out: ['FILE', "also write the duplicates as JSON ({ file: [duplicates] }, imagededup's shape)"],
  json: 'machine-readable output: the duplicates as JSON on stdout',
  scores: 'with --json or --out: each duplicate as [file, score] (keypoints agreeing, or bits apart), best first',
  'move-to': [
    'DIR',
    'say which copies would move there (all but the keeper of each group); nothing moves without --apply',
  ],
  apply: 'with --move-to: move them (never deletes; paths kept under DIR; run again to finish an interrupted run)',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir dedup --data DIR [--method orb|phash|dhash|ahash|whash] [--threshold N] [--json [--scores]] [--out FILE] [--move-to DIR [--apply]]

Finds the duplicates in a folder of images: the same photo re-saved, resized, recompressed, brightened, cropped,
rotated or flipped. By default (--method orb) by keypoints: ORB keypoints (OpenCV's) of each image and of its mirror
image are matched across the folder through hash tables, and two images are duplicates when at least --threshold
matches agree on one rotation, scale and shift; on bench:dedup's transformed photos this finds 0.99 of the duplicate
pairs at precision 0.99, flips and 25-degree rotations included. It needs @techstark/opencv-js.
The hashes (--method phash, ...) are imagededup's, bit for bit, and so is what counts as a duplicate there (hashes at
most --threshold bits apart, 10 by default): faster, but they do not survive flips, rotations or large crops.
Images are read as stored (no EXIF rotation, as imagededup reads them).
Prints each group of duplicates with the copy to keep first (${KEEPER_RULE}); --json prints
{ file: [duplicates] } for every file, as imagededup's find_duplicates. --move-to DIR --apply moves the other copies
out of the folder into DIR.

${flagList(OPTIONS, MEANINGS)}`;

export async function dedup(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) return console.log(HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${HELP}`);
  const method = values.method as Method;
  if (!METHODS.includes(method))
    throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got "${values.method}".`);
  const hash = method !== 'orb';
  const threshold =
    values.threshold === undefined ? DEFAULT_THRESHOLD[hash ? 'hash' : 'orb'] : Number(values.threshold);
  if (hash && !(Number.isInteger(threshold) && threshold >= 0 && threshold <= 64))
    throw new UsageError(`--threshold for a hash is a whole number of bits from 0 to 64, got "${values.threshold}".`);
  if (!hash && !(Number.isInteger(threshold) && threshold >= 4))
    throw new UsageError(`--threshold for orb is a whole number of keypoints, 4 or more, got "${values.threshold}".`);
  if (values.apply && !values['move-to']) throw new UsageError('--apply needs --move-to DIR: where the copies go.');
  const [dataDir, moveDir] = [resolve(values.data), values['move-to'] && resolve(values['move-to'])];
  if (moveDir && (moveDir === dataDir || moveDir.startsWith(dataDir + sep)))
    throw new UsageError(`--move-to ${moveDir} is inside --data ${dataDir}: choose a folder outside it.`);
  const started = Date.now();
  const data = await directoryDataset(resolve(values.data), { size: 'original', orient: false });
  const note = skippedNote(data);
  if (note) process.stderr.write(`${note}\n`);
  const print = progressPrinter(values.json!);
  const ctrlC = abortOnCtrlC('batch');
  let files: string[];
  let skipped: number;
  /** Pairs with their score, the better the larger (bits apart are negated). */
  let pairs: { a: number; b: number; score: number }[];
  try {
    const options = { signal: ctrlC.signal, onProgress: print };
    if (hash) {
      const hashed = await mapImages(data, (image) => imageHash(image, method as HashMethod), options);
      pairs = hashDuplicates(hashed.values, { maxDistance: threshold, ...options }).map(({ a, b, distance }) => ({
        a,
        b,
        score: -distance,
      }));
      ({ ids: files } = hashed);
      skipped = hashed.skipped.length;
    } else {
      const cv = await loadOpenCv();
      const features = await mapImages(
        data,
        (image) => ({ plain: orbFeatures(cv, image), mirrored: orbFeatures(cv, image, { mirror: true }) }),
        options,
      );
      pairs = localFeatureDuplicates(features.values, { minInliers: threshold, ...options }).map(
        ({ a, b, inliers }) => ({ a, b, score: inliers }),
      );
      ({ ids: files } = features);
      skipped = features.skipped.length;
    }
  } finally {
    ctrlC.dispose();
  }
  // Each file's duplicates, best first (then by name).
  const scored: [string, number][][] = files.map(() => []);
  for (const { a, b, score } of pairs) {
    scored[a].push([files[b], score]);
    scored[b].push([files[a], score]);
  }
  for (const list of scored) list.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  const shown = (s: number) => (hash ? -s : s);
  const byFile = Object.fromEntries(
    files.map((f, i) => [f, values.scores ? scored[i].map(([g, s]) => [g, shown(s)]) : scored[i].map(([g]) => g)]),
  );
  if (values.out) await writeFileAtomic(resolve(values.out), Buffer.from(JSON.stringify(byFile, null, 1) + '\n'));
  const root = resolve(values.data);
  const groups: { keep: string; others: string[] }[] = [];
  for (const group of values.json && !values['move-to'] ? [] : duplicateGroups(files.length, pairs)) {
    const facts = await Promise.all(group.map((i) => fileFacts(join(root, files[i]))));
    const keep = chooseKeeper(facts);
    const size = (k: number) =>
      `${(facts[k].pixels / 1e6).toFixed(2)} MP, ${(facts[k].bytes / 1024).toFixed(0)} KiB${facts[k].exifFields ? `, ${facts[k].exifFields} EXIF fields` : ''}`;
    const order = [keep, ...group.keys()].filter((k, j) => j === 0 || k !== keep);
    if (!values.json)
      console.log(
        order.map((k, j) => `${j === 0 ? 'keep ' : '     '} ${files[group[k]]}  (${size(k)})`).join('\n') + '\n',
      );
    groups.push({ keep: files[group[keep]], others: order.slice(1).map((k) => files[group[k]]) });
  }
  const moveTo = values['move-to'];
  if (moveTo) {
    const others = groups.flatMap((g) => g.others);
    const report = await moveFiles(root, others, resolve(moveTo), { apply: values.apply });
    const where = resolve(moveTo);
    const finished = report.finished.length ? ` (${report.finished.length} already there from an earlier run)` : '';
    process.stderr.write(
      values.apply
        ? `moved ${report.moved.length} file${report.moved.length === 1 ? '' : 's'} to ${where}${finished}\n`
        : `dry run: ${report.moved.length} file${report.moved.length === 1 ? '' : 's'} would move to ${where}${finished}; add --apply to move them\n`,
    );
  }
  if (values.json) return console.log(JSON.stringify(byFile));
  const inGroups = groups.reduce((n, g) => n + 1 + g.others.length, 0);
  const rule = hash ? `within ${threshold} bits, ${method}` : `${threshold}+ keypoints agreeing, orb`;
  console.log(
    `${groups.length} group${groups.length === 1 ? '' : 's'} of duplicates (${inGroups} of ${files.length} images, ${pairs.length} pairs ${rule}) in ${((Date.now() - started) / 1000).toFixed(1)} s${skipped ? `; ${skipped} unreadable files skipped` : ''}`,
  );
}

const HASH_OPTIONS = {
  data: { type: 'string' },
  method: { type: 'string', default: 'phash' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const HASH_MEANINGS = {
  data: ['DIR', 'the folder of images (searched recursively)'],
  method: ['NAME', `the perceptual hash: ${HASH_METHODS.join(', ')}`],
  json: 'print only the JSON (no progress bar)',
  help: 'print this help and exit',
} as const;

const HASH_HELP = `Usage: cbir hash --data DIR [--method phash|dhash|ahash|whash] [--json]

Prints { file: hash } for every image of a folder: 64-bit perceptual hashes as 16 hex characters, the same strings as
imagededup's encode_images (Pillow's Lanczos resize and grey conversion, reproduced). Images are read as stored.

${flagList(HASH_OPTIONS, HASH_MEANINGS)}`;

export async function hash(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: HASH_OPTIONS });
  if (values.help) return console.log(HASH_HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${HASH_HELP}`);
  const method = values.method as HashMethod;
  if (!HASH_METHODS.includes(method))
    throw new UsageError(`--method must be one of ${HASH_METHODS.join(', ')}, got "${values.method}".`);
  const data = await directoryDataset(resolve(values.data), { size: 'original', orient: false });
  const note = skippedNote(data);
  if (note) process.stderr.write(`${note}\n`);
  const ctrlC = abortOnCtrlC('batch');
  try {
    const hashed = await mapImages(data, (image) => imageHash(image, method), {
      signal: ctrlC.signal,
      onProgress: progressPrinter(values.json!),
    });
    console.log(JSON.stringify(Object.fromEntries(hashed.ids.map((f, i) => [f, hashed.values[i]]))));
  } finally {
    ctrlC.dispose();
  }
}
