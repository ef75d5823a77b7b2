import { resolve } from 'node:path';
import { CbirError, readFeatures, serializeFeatures, type FeatureFile } from 'cbir-core';
import { readNpy } from 'cbir-core/io';
import { writeFileAtomic } from './atomic-write.js';
import { readWholeFile } from './read-file.js';

/**
 * Reads features from a file: a cbir feature file (`cbir embed`, `cbir features`, `cbir bow`; magic, version, sizes
 * and checksum checked), the notebook's `features.pkl`, or a `.npy` matrix (see `readFeatures`).
 *
 * @param options - `ids`: a `.npy` of ids (one per row) for a `.npy` matrix.
 * @throws {@link cbir-core!CbirError | CbirError} naming the file when it is missing, truncated, corrupted or of no known format.
 * @example
 * ```ts
 * const { matrix, ids, labels } = await loadFeatures('out/features.cbirfeat');
 * const notebook = await loadFeatures('features.pkl');
 * const plain = await loadFeatures('x.npy', { ids: 'ids.npy' });
 * ```
 */
export async function loadFeatures(path: string, options: { ids?: string } = {}): Promise<FeatureFile> {
  const read = async (file: string, what: string) => {
    const abs = resolve(file);
    const bytes = await readWholeFile(abs).catch((cause: Error) => {
      throw new CbirError('INVALID_ARGUMENT', `cannot read the ${what} ${abs}: ${cause.message}`, { cause });
    });
    return { abs, bytes };
  };
  const { abs, bytes } = await read(path, 'feature file');
  const ids = options.ids ? await read(options.ids, 'ids file') : undefined;
  return readFeatures(bytes, abs, ids ? { ids: readNpy(ids.bytes, ids.abs).data } : {});
}

/**
 * Writes a feature file atomically (temp file + rename).
 *
 * @example
 * ```ts
 * await saveFeatures({ matrix, ids, labels, paths }, 'photos.cbirfeat');
 * ```
 */
export async function saveFeatures(features: FeatureFile, path: string): Promise<void> {
  await writeFileAtomic(resolve(path), serializeFeatures(features));
}
