#!/usr/bin/env node
import { AbortedError, CbirError } from 'cbir-core';
import { add } from './commands/add.js';
import { migrate } from './commands/migrate.js';
import { remove } from './commands/remove.js';
import { sync } from './commands/sync.js';
import { dedup } from './commands/dedup.js';
import { hash } from './commands/hash.js';
import { bow } from './commands/bow.js';
import { cluster } from './commands/cluster.js';
import { demo } from './commands/demo.js';
import { doctor } from './commands/doctor.js';
import { embed } from './commands/embed.js';
import { evalCmd } from './commands/eval.js';
import { exportCmd } from './commands/export.js';
import { features } from './commands/features.js';
import { indexCmd } from './commands/index-cmd.js';
import { quickstart } from './commands/quickstart.js';
import { search } from './commands/search.js';
import { serve } from './commands/serve.js';
import { train } from './commands/train.js';
import { UsageError } from './usage.js';
import { version } from '../package.json';
import { closest } from './suggest.js';
import { releaseWebGpu } from 'cbir-node';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number | void>; help: string }> = {
  quickstart: {
    run: quickstart,
    help: 'the whole notebook on Fashion-MNIST (or --data DIR): train, index, evaluate, cluster, report.html',
  },
  demo: {
    run: demo,
    help: 'build a model, print its summary, load PyTorch weights, reconstruct an image made on the fly',
  },
  train: { run: train, help: 'train an autoencoder on a folder of images (resumable)' },
  embed: { run: embed, help: 'turn a folder of images into a feature file with a trained model' },
  export: {
    run: exportCmd,
    help: "write a trained model as the notebook's PyTorch checkpoint (.pt), optimizer included",
  },
  index: {
    run: indexCmd,
    help: 'build an exact, cosine, LSH or HNSW index file (or a LanceDB table) over a feature file',
  },
  add: { run: add, help: "embed a folder's new images as the index's were and add them to it" },
  remove: { run: remove, help: 'remove items from an index by id, or those whose files are gone' },
  sync: {
    run: sync,
    help: 'bring an index up to date with a folder: embed new and changed files, remove the gone (resumable)',
  },
  migrate: { run: migrate, help: 'copy an index file into a LanceDB table' },
  dedup: { run: dedup, help: 'find the duplicates in a folder of images: copies resized, cropped, rotated, flipped' },
  hash: { run: hash, help: "print each image's perceptual hash (imagededup's bits) as JSON" },
  search: { run: search, help: 'find the images nearest to a new image or an indexed one; --montage draws them' },
  serve: {
    run: serve,
    help: 'serve an index to a browser: drop in a photo, see the most similar ones (a JSON API too)',
  },
  eval: { run: evalCmd, help: 'leave-one-out P@k and mAP by label' },
  cluster: { run: cluster, help: 'KMeans elbow and silhouette analysis of a feature file, with plots' },
  bow: { run: bow, help: 'ORB bag of visual words: descriptors, elbow, vocabulary and BoW features of a folder' },
  features: { run: features, help: 'hand-crafted, fused, tfjs-model or BoW features of a folder, as a feature file' },
  doctor: { run: doctor, help: 'print the backend cbir would use, why others were skipped, the tfjs version' },
};

/** What the file system said, and what to do about it: every such error is one line naming the file. */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOSPC: 'no space left on the device; free some space or write to another folder',
  EDQUOT: 'over the disk quota; free some space or write to another folder',
  ENOENT: 'no such file or folder; check the path',
  EISDIR: 'is a folder where a file was expected; name a file',
  ENOTDIR: 'a part of the path is a file where a folder was expected; check the path',
  EACCES: 'permission denied; check its permissions or choose another path',
  EPERM: 'operation not permitted; check its permissions or choose another path',
  EROFS: 'the file system is read-only; write to another folder',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or use fewer threads',
  EIO: 'input/output error from the device',
  EADDRINUSE: 'the address is in use by another program; choose another --port (0 picks a free one)',
  EADDRNOTAVAIL: 'this machine has no such address; pass one of its addresses to --host, or 127.0.0.1',
};

function usage(): string {
  return [
    `cbir ${version}: content-based image retrieval`,
    '',
    'Usage: cbir <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(8)} ${v.help}`),
    '',
    'Run cbir <command> --help for its options; cbir --version (-V) prints the version.',
    '',
    'Exit codes: 0 done, 1 an error in the input or the files (one line says which and what to do),',
    '2 bad or missing arguments, 70 an internal error (please report it), 130 interrupted (Ctrl-C).',
  ].join('\n');
}

/** The flags a command's --help names (each command prints its usage and returns). */
async function flagsOf(cmd: { run: (argv: string[]) => Promise<number | void> }): Promise<string[]> {
  const log = console.log;
  let text = '';
  console.log = (...a: unknown[]) => void (text += a.join(' ') + '\n');
  try {
    await cmd.run(['--help']);
  } finally {
    console.log = log;
  }
  return [...new Set(text.match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-V') {
    console.log(`cbir ${version}`);
    return 0;
  }
  const cmd = COMMANDS[command];
  if (!cmd) {
    const guess = closest(command, Object.keys(COMMANDS));
    console.error(`cbir: unknown command "${command}".${guess ? ` Did you mean "cbir ${guess}"?` : ''}\n\n${usage()}`);
    return 2;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    // Usage errors (bad or missing flags) exit 2; cbir's own errors (bad files, sizes) exit 1 with their message.
    if (e instanceof UsageError) {
      console.error(`cbir ${command}: ${e.message}`);
      return 2;
    }
    // Stopped by Ctrl-C (the command's signal): 130, as a shell reports SIGINT.
    if (e instanceof AbortedError) {
      console.error(`cbir ${command}: ${e.message}`);
      return 130;
    }
    if (e instanceof CbirError) {
      console.error(`cbir ${command}: ${e.message}`);
      return 1;
    }
    if (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      const unknown =
        e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /Unknown option '(-{1,2}[^']+)'/.exec(e.message)?.[1] : undefined;
      const guess = unknown ? closest(unknown, await flagsOf(cmd)) : undefined;
      console.error(
        `cbir ${command}: ${guess ? `unknown option ${unknown}. Did you mean ${guess}? (cbir ${command} --help lists them)` : e.message}`,
      );
      return 2;
    }
    const sys = e as NodeJS.ErrnoException;
    if (sys && typeof sys.code === 'string' && SYSTEM_ERRORS[sys.code]) {
      const net = sys as NodeJS.ErrnoException & { address?: string; port?: number };
      const where = sys.path ?? (net.address ? `${net.address}:${net.port}` : undefined);
      console.error(`cbir ${command}: ${where ? `${where}: ` : ''}${SYSTEM_ERRORS[sys.code]} (${sys.code}).`);
      return 1;
    }
    // A bug in cbir: one line, the stack only when asked for.
    console.error(
      `cbir ${command}: internal error: ${(e as Error)?.message ?? String(e)}. Please report it with CBIR_DEBUG=1's output.`,
    );
    if (process.env.CBIR_DEBUG) console.error((e as Error)?.stack);
    return 70;
  }
}

// A reader that closes the pipe early (`cbir embed --json | head -1`) ends the output, not the work: the command
// still completes and writes its files; output after that point is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Dawn keeps the process alive while the webgpu backend's device is held.
  releaseWebGpu();
});
