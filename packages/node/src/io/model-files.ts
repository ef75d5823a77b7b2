import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { FormatError, modelFromFiles, modelToFiles, type Autoencoder, type ModelMetadata } from 'cbir-core';
import { writeFileAtomic } from './atomic-write.js';

/**
 * Saves a model in tfjs's format (`model.json` + `weights-<crc>.bin`, loadable by `tf.loadLayersModel`) with cbir's
 * metadata, each file written atomically.
 *
 * @param extra - More metadata to store (history, reducer state).
 *
 * @example
 * ```ts
 * await saveModel(ae, 'model/', { bestValLoss: 0.01 });   // model.json + weights-<crc>.bin, loadable by tf.loadLayersModel
 * ```
 */
export async function saveModel(model: Autoencoder, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  const { json, weights } = await modelToFiles(model, extra);
  await mkdir(dir, { recursive: true });
  // The weights file is named by its checksum and model.json, written last, names it: a folder always holds a whole
  // model (the old one until model.json is replaced, the new one after), whenever the process dies or the disk fills.
  const manifest = JSON.parse(new TextDecoder().decode(json)) as {
    weightsManifest: { paths: string[] }[];
    userDefinedMetadata: { cbir: ModelMetadata };
  };
  const name = `weights-${(manifest.userDefinedMetadata.cbir.weightsCrc32 as number).toString(16).padStart(8, '0')}.bin`;
  manifest.weightsManifest[0].paths = [name];
  await writeFileAtomic(join(dir, name), weights);
  await writeFileAtomic(join(dir, 'model.json'), new TextEncoder().encode(JSON.stringify(manifest)));
  // Weights of earlier saves, no longer named by model.json.
  for (const f of await readdir(dir))
    if (/^weights(-[0-9a-f]{8})?\.bin$/.test(f) && f !== name) await rm(join(dir, f), { force: true });
}

/**
 * Loads a model saved by {@link saveModel}: rebuilds the architecture named in its metadata at its input size and
 * sets the weights, checking that names, shapes and byte sizes agree.
 *
 * @returns The model and its metadata.
 * @throws {@link cbir-core!FormatError | FormatError} naming the file if it is missing, not cbir's, or inconsistent.
 *
 * @example
 * ```ts
 * const { model, metadata } = await loadModel('model/');
 * const z = model.encode(x);
 * ```
 */
export async function loadModel(dir: string): Promise<{ model: Autoencoder; metadata: ModelMetadata }> {
  const jsonPath = join(dir, 'model.json');
  const json = await readFile(jsonPath).catch((cause: Error) => {
    throw new FormatError(
      `loadModel: ${jsonPath} cannot be read (${cause.message}). Train one with \`cbir train --out ${dir}\`.`,
      { cause },
    );
  });
  return modelFromFiles(
    new Uint8Array(json),
    async (path) => {
      // The manifest names a file in the model's folder; a path that leaves it is refused, never read.
      const full = resolve(dir, path);
      if (isAbsolute(path) || relative(resolve(dir), full).startsWith('..')) {
        throw new FormatError(
          `loadModel: ${jsonPath} names weights at ${JSON.stringify(path)}, outside the model's folder; a manifest may only name files in it.`,
        );
      }
      return new Uint8Array(await readFile(full));
    },
    jsonPath,
  );
}
