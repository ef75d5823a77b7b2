import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CbirError, deserializeFeatures, serializeFeatures, type FeatureFile } from 'cbir-core';
import { writeFileAtomic } from './atomic-write.js';

/**
 * Reads a feature file (`cbir embed`, `cbir features`, `cbir bow`), checking magic, version, sizes and checksum.
 *
 * @throws {@link CbirError} naming the file when it is missing, truncated or corrupted.
 * @example
 * ```ts
 * const { matrix, ids, labels } = await loadFeatures('out/features.cbirfeat');
 * ```
 */
export async function loadFeatures(path: string): Promise<FeatureFile> {
  const abs = resolve(path);
  const bytes = await readFile(abs).catch((cause: Error) => {
    throw new CbirError('INVALID_ARGUMENT', `cannot read the feature file ${abs}: ${cause.message}`, { cause });
  });
  return deserializeFeatures(new Uint8Array(bytes), abs);
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
