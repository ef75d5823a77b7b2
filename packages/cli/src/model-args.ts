import { stat, readFile } from 'node:fs/promises';
import {
  CbirError,
  ConvAutoencoder,
  ConvAutoencoderV2,
  loadTorchWeights,
  type Autoencoder,
  type LoadTorchWeightsResult,
} from 'cbir-core';
import { loadModel } from 'cbir-node';
import { UsageError } from './usage.js';

/** The notebook's two networks, by their `--arch` names. */
export const ARCHS = {
  v1: (inputSize: number, seed?: number) => new ConvAutoencoder({ inputSize, seed }),
  v2: (inputSize: number, seed?: number) => new ConvAutoencoderV2({ inputSize, seed }),
} as const;
export type ArchName = keyof typeof ARCHS;

/** `--arch` checked: v1 or v2. */
export function parseArch(value: string | undefined, fallback: ArchName = 'v2'): ArchName {
  const arch = value ?? fallback;
  if (arch !== 'v1' && arch !== 'v2') {
    throw new UsageError(
      `--arch must be v1 (ConvAutoencoder) or v2 (ConvAutoencoderV2, the notebook's), got "${arch}".`,
    );
  }
  return arch;
}

/** The --help lines of --arch and --size, which read a PyTorch weight file into a network. */
export const WEIGHT_FILE_MEANINGS = {
  arch: ['v1|v2', 'the network a weight file is read into (default: v2)'],
  size: ['S', 'the input size a weight file is read at (default: 512)'],
} as const;

/** A positive integer option, checked before any work. */
export function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${value}".`);
  return n;
}

/** Where the reducer fitted by `cbir embed` is kept for a model: `DIR/reducer.bin`, or `FILE.reducer.bin` beside a weight file. */
export function reducerPathFor(modelPath: string, isDir: boolean): string {
  return isDir ? `${modelPath}/reducer.bin` : `${modelPath}.reducer.bin`;
}

/**
 * The model `--model` names: a folder written by `cbir train` (its model.json names the network and size), or a
 * PyTorch weight file (the notebook's `.pt` checkpoints, a bare state dict, safetensors) read into `--arch` at
 * `--size` (defaults: v2 at 512, the notebook's).
 */
export async function loadModelArg(
  path: string,
  options: { arch?: string; size?: string },
): Promise<{ model: Autoencoder; isDir: boolean; weights?: LoadTorchWeightsResult }> {
  const info = await stat(path).catch((cause: Error) => {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `--model ${path} cannot be read (${cause.message}): pass a folder from cbir train or a PyTorch .pt/.pth/.safetensors file.`,
      { cause },
    );
  });
  if (info.isDirectory()) {
    if (options.arch !== undefined || options.size !== undefined) {
      throw new UsageError(
        `--arch and --size apply to a PyTorch weight file; ${path}/model.json already names the network and its size.`,
      );
    }
    return { model: (await loadModel(path)).model, isDir: true };
  }
  const model = ARCHS[parseArch(options.arch)](positiveInt('size', options.size ?? '512'));
  try {
    const weights = loadTorchWeights(model, new Uint8Array(await readFile(path)), { source: path });
    return { model, isDir: false, weights };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
