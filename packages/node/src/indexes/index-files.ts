import { IndexFormatError, deserializeIndex, type Index } from 'cbir-core';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readWholeFile } from '../io/read-file.js';
import { registerNodeIndexKinds } from './hnsw-index.js';

/**
 * Writes an index to `path` atomically (temp file + rename); a kind with `serializeParts` (HnswIndex) is streamed in
 * chunks, without a second copy of the index in memory.
 *
 * @example
 * ```ts
 * await saveIndex(index, 'photos.cbirindex');   // atomic: temp file + rename
 * ```
 */
export async function saveIndex(index: Index, path: string): Promise<void> {
  await writeFileAtomic(path, index.serializeParts ? index.serializeParts() : index.serialize());
}

/**
 * Reads an index file, checking magic, version, sizes and checksum.
 * @throws {@link cbir-core!IndexFormatError | IndexFormatError} naming `path`.
 *
 * @example
 * ```ts
 * const index = await loadIndex('photos.cbirindex');   // checks magic, version, sizes, checksum
 * index.search(queries, 10);
 * ```
 */
export async function loadIndex(path: string): Promise<Index> {
  registerNodeIndexKinds(); // an hnsw file needs its kind, however cbir-node was imported
  const bytes = await readWholeFile(path).catch((cause) => {
    throw new IndexFormatError(
      `loadIndex: cannot read ${path} (${(cause as Error).message}). Build one with \`cbir index\`.`,
      { cause },
    );
  });
  return deserializeIndex(bytes, path);
}
