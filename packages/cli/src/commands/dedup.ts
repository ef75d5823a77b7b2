import { readFile, stat } from 'node:fs/promises';
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
  parseHashEncodings,
  type HashEncoding,
  type HashEncodings,
  type HashMethod,
  type ImageDataset,
  type LongRunning,
  type ProgressEvent,
} from 'cbir-core';
import {
  directoryDataset,
  fileFacts,
  loadOpenCv,
  moveFiles,
  skippedNote,
  writeFileAtomic,
  type DirectoryDataset,
} from 'cbir-node';
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
  encodings: { type: 'string' },
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
  encodings: ['FILE', "hashes: keep each file's hash there, and hash only new or changed files next time (resumable)"],
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir dedup --data DIR [--method orb|phash|dhash|ahash|whash] [--threshold N] [--json [--scores]] [--out FILE] [--move-to DIR [--apply]] [--encodings FILE]

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
  if (values.encodings && !hash)
    throw new UsageError('--encodings keeps hashes: use it with --method phash, dhash, ahash or whash.');
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
      const hashed = values.encodings
        ? await hashWithEncodings(data, method as HashMethod, resolve(values.encodings), options)
        : await mapImages(data, (image) => imageHash(image, method as HashMethod), options);
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

/** Files hashed per checkpoint of --encodings: an interrupted run keeps what it hashed up to the last one. */
const CHECKPOINT = 500;

/**
 * The folder's hashes, reusing those saved in `file` for files of the same size and modification time, hashing the
 * rest in chunks and saving after each (atomically), so that a run cut short resumes where it stopped. Files no longer
 * in the folder leave the file.
 */
async function hashWithEncodings(
  data: DirectoryDataset,
  method: HashMethod,
  file: string,
  options: LongRunning,
): Promise<{ ids: string[]; values: string[]; skipped: unknown[] }> {
  const known = await stat(file).catch(() => undefined);
  if (known && known.size > 2 ** 31)
    throw new UsageError(`--encodings ${file} is ${known.size} bytes: too large to be cbir hash encodings.`);
  const saved: HashEncodings = known ? parseHashEncodings(await readFile(file, 'utf8'), file) : { method, files: {} };
  if (saved.method !== method)
    throw new UsageError(
      `--encodings ${file} holds ${saved.method} hashes, not ${method}: pass --method ${saved.method}, or another file.`,
    );
  const stats = await Promise.all(Array.from({ length: data.size }, (_, i) => stat(data.path(i))));
  const next: Record<string, HashEncoding> = Object.create(null); // any file name a key, "__proto__" too
  const todo: number[] = [];
  for (let i = 0; i < data.size; i++) {
    const e = saved.files[data.entry(i).id];
    if (e && e.size === stats[i].size && e.mtimeMs === stats[i].mtimeMs) next[data.entry(i).id] = e;
    else todo.push(i);
  }
  const reused = data.size - todo.length;
  const skipped: unknown[] = [];
  const save = () => writeFileAtomic(file, Buffer.from(JSON.stringify({ method, files: next }) + '\n'));
  for (let c = 0; c < todo.length || c === 0; c += CHECKPOINT) {
    const part = todo.slice(c, c + CHECKPOINT);
    const sub: ImageDataset = {
      size: part.length,
      imageSize: undefined,
      entry: (j) => data.entry(part[j]),
      read: (j) => data.read(part[j]),
    };
    const hashed = await mapImages(sub, (image) => imageHash(image, method), {
      signal: options.signal,
      onProgress: (e: ProgressEvent) =>
        options.onProgress?.('done' in e ? { ...e, done: reused + c + e.done, total: data.size } : e),
    });
    skipped.push(...hashed.skipped);
    const at = new Map(part.map((i) => [data.entry(i).id, i]));
    hashed.ids.forEach((id, k) => {
      const s = stats[at.get(id)!];
      next[id] = { hash: hashed.values[k], size: s.size, mtimeMs: s.mtimeMs };
    });
    await save();
  }
  process.stderr.write(`hashed ${todo.length - skipped.length} images; ${reused} from ${file}\n`);
  const ids = Array.from({ length: data.size }, (_, i) => data.entry(i).id).filter((id) => id in next);
  return { ids, values: ids.map((id) => next[id].hash), skipped };
}
