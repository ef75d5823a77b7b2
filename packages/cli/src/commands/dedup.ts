import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HASH_METHODS, hashDuplicates, imageHash, mapImages, type HashMethod } from 'cbir-core';
import { directoryDataset, skippedNote, writeFileAtomic } from 'cbir-node';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';

const OPTIONS = {
  data: { type: 'string' },
  method: { type: 'string', default: 'phash' },
  'max-distance': { type: 'string', default: '10' },
  out: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const MEANINGS = {
  data: ['DIR', 'the folder of images (searched recursively)'],
  method: ['NAME', `the perceptual hash: ${HASH_METHODS.join(', ')}`],
  'max-distance': ['BITS', 'pairs whose hashes differ in at most this many of 64 bits are duplicates'],
  out: ['FILE', "also write the duplicates as JSON ({ file: [duplicates] }, imagededup's shape)"],
  json: 'machine-readable output: the duplicates as JSON on stdout',
  help: 'print this help and exit',
} as const;

const HELP = `Usage: cbir dedup --data DIR [--method phash|dhash|ahash|whash] [--max-distance 10] [--out FILE] [--json]

Finds the duplicates in a folder of images by perceptual hash: the same photo re-saved, resized, recompressed or
brightened. The hashes are imagededup's, bit for bit (Pillow's Lanczos resize and grey conversion, reproduced), and so
is what counts as a duplicate (hashes at most --max-distance bits apart, 10 by default); the pairs are found with a
BK-tree, not by comparing every pair. Images are read as stored (no EXIF rotation, as imagededup reads them). Hashes
do not survive flips, rotations or large crops: there, search with features instead (cbir features, cbir index).
Prints each group of duplicates; --json prints { file: [duplicates] } for every file, as imagededup's find_duplicates.

${flagList(OPTIONS, MEANINGS)}`;

export async function dedup(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: OPTIONS });
  if (values.help) return console.log(HELP);
  if (!values.data) throw new UsageError(`--data DIR is required.\n\n${HELP}`);
  const method = values.method as HashMethod;
  if (!HASH_METHODS.includes(method))
    throw new UsageError(`--method must be one of ${HASH_METHODS.join(', ')}, got "${values.method}".`);
  const maxDistance = /^\d+$/.test(values['max-distance']!) ? Number(values['max-distance']) : NaN;
  if (!(maxDistance <= 64))
    throw new UsageError(
      `--max-distance must be a whole number of bits from 0 to 64, got "${values['max-distance']}".`,
    );
  const started = Date.now();
  const data = await directoryDataset(resolve(values.data), { size: 'original', orient: false });
  const note = skippedNote(data);
  if (note) process.stderr.write(`${note}\n`);
  const print = progressPrinter(values.json!);
  const ctrlC = abortOnCtrlC('batch');
  let hashed;
  let pairs;
  try {
    hashed = await mapImages(data, (image) => imageHash(image, method), { signal: ctrlC.signal, onProgress: print });
    pairs = hashDuplicates(hashed.values, { maxDistance, signal: ctrlC.signal });
  } finally {
    ctrlC.dispose();
  }
  const files = hashed.ids;
  const byFile: Record<string, string[]> = Object.fromEntries(files.map((f) => [f, [] as string[]]));
  for (const { a, b } of pairs) {
    byFile[files[a]].push(files[b]);
    byFile[files[b]].push(files[a]);
  }
  for (const f of files) byFile[f].sort();
  if (values.out) await writeFileAtomic(resolve(values.out), Buffer.from(JSON.stringify(byFile, null, 1) + '\n'));
  if (values.json) return console.log(JSON.stringify(byFile));
  // Groups: the connected components of the duplicate pairs, each listed once.
  const parent = files.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  for (const { a, b } of pairs) parent[find(a)] = find(b);
  const groups = new Map<number, string[]>();
  files.forEach((f, i) => {
    if (byFile[f].length === 0) return;
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), f]);
  });
  for (const g of groups.values()) console.log(g.join('\n') + '\n');
  const inGroups = [...groups.values()].reduce((n, g) => n + g.length, 0);
  console.log(
    `${groups.size} group${groups.size === 1 ? '' : 's'} of duplicates (${inGroups} of ${files.length} images, ${pairs.length} pairs within ${maxDistance} bits, ${method}) in ${((Date.now() - started) / 1000).toFixed(1)} s${hashed.skipped.length ? `; ${hashed.skipped.length} unreadable files skipped` : ''}`,
  );
}
