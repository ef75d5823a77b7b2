import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { HASH_METHODS, imageHash, mapImages, type HashMethod } from 'cbir-core';
import { directoryDataset, skippedNote } from 'cbir-node';
import { flagList } from '../flags.js';
import { abortOnCtrlC } from '../interrupt.js';
import { progressPrinter } from '../progress-bar.js';
import { UsageError } from '../usage.js';

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
