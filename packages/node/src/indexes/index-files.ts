import { IndexFormatError, Retriever, deserializeIndex, type Index } from 'cbir-core';
import { writeFileAtomic } from '../io/atomic-write.js';
import { readWholeFile } from '../io/read-file.js';
import { registerNodeIndexKinds } from './hnsw-index.js';
import { LanceIndex, type LanceIndexOptions } from './lance-index.js';

/**
 * Writes an index to `path` atomically (temp file + rename); a kind with `serializeParts` (HnswIndex) is streamed in
 * chunks, without a second copy of the index in memory. The index alone: {@link saveRetriever} keeps what made its
 * vectors and its re-ranker with it.
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
 * Reads an index file (the index alone; {@link loadRetriever} reads what made its vectors and its re-ranker too),
 * checking magic, version, sizes and checksum.
 * @throws {@link cbir-core!IndexFormatError | IndexFormatError} naming `path`.
 *
 * @example
 * ```ts
 * const index = await loadIndex('photos.cbirindex');   // checks magic, version, sizes, checksum
 * index.search(queries, 10);
 * ```
 */
export async function loadIndex(path: string): Promise<Index> {
  return deserializeIndex(await readIndexBytes(path, 'loadIndex'), path);
}

/**
 * Writes a retriever's index file to `path` atomically, with its provenance and re-ranker (streamed in chunks where
 * the index kind has `serializeParts`).
 *
 * @example
 * ```ts
 * await saveRetriever(retriever, 'photos.cbirindex');
 * ```
 */
export async function saveRetriever(retriever: Retriever, path: string): Promise<void> {
  await writeFileAtomic(path, retriever.serializeParts());
}

/**
 * Reads an index file as a {@link cbir-core!Retriever | Retriever}: the index, what made its vectors and the
 * re-ranker saved with it. Files written before the Retriever (provenance on the index) read the same. `source` names
 * the file in messages (the path as the user gave it, say).
 * @throws {@link cbir-core!IndexFormatError | IndexFormatError} naming `path`.
 *
 * @example
 * ```ts
 * const retriever = await loadRetriever('photos.cbirindex');
 * const hits = await retriever.search(queries, 10);   // with the saved re-ranker
 * ```
 */
export async function loadRetriever(path: string, source = path): Promise<Retriever> {
  return Retriever.deserialize(await readIndexBytes(path, 'loadRetriever'), source);
}

/**
 * Opens a LanceDB table as a {@link cbir-core!Retriever | Retriever}, with what made its vectors (kept beside the
 * table); `retriever.save()` writes that back.
 *
 * @example
 * ```ts
 * const retriever = await openLanceRetriever('/data/photos.lance');
 * const hits = await retriever.search(queries, 10);
 * await (retriever.index as LanceIndex).close();
 * ```
 */
export async function openLanceRetriever(
  uri: string,
  options: Pick<LanceIndexOptions, 'table' | 'storageOptions'> = {},
): Promise<Retriever> {
  const index = await LanceIndex.open(uri, options);
  try {
    return Retriever.open(index, `${uri} (LanceDB table ${index.tableName})`);
  } catch (e) {
    await index.close();
    throw e;
  }
}

async function readIndexBytes(path: string, where: string): Promise<Uint8Array> {
  registerNodeIndexKinds(); // an hnsw file needs its kind, however cbir-node was imported
  return readWholeFile(path).catch((cause) => {
    throw new IndexFormatError(
      `${where}: cannot read ${path} (${(cause as Error).message}). Build one with \`cbir index\`.`,
      {
        cause,
      },
    );
  });
}
