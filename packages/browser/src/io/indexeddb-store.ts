import * as tf from '@tensorflow/tfjs-core';
import {
  CbirError,
  modelFromArtifacts,
  modelFromFiles,
  modelToArtifacts,
  modelToFiles,
  type Autoencoder,
  type ModelMetadata,
} from 'cbir-core';

const DB = 'cbir';
const STORE = 'files';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () =>
      reject(
        new CbirError(
          'INVALID_ARGUMENT',
          `IndexedDB: cannot open database "${DB}" (${req.error?.message}); is storage blocked for this page?`,
        ),
      );
  });
}

async function tx<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = run(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

/**
 * Stores bytes (a serialised index, a feature file, a vocabulary) in IndexedDB under `key`, replacing any previous
 * value. The bytes are exactly what cbir-node writes to files, so a download of them loads in Node.
 *
 * @example
 * ```ts
 * await saveBytes('index:photos', index.serialize());
 * const index = deserializeIndex((await loadBytes('index:photos'))!, 'index:photos');
 * ```
 */
export async function saveBytes(key: string, bytes: Uint8Array): Promise<void> {
  await tx('readwrite', (s) => s.put(bytes.slice(), key));
}

/**
 * The bytes stored under `key`, or undefined.
 *
 * @example
 * ```ts
 * const bytes = await loadBytes('index:photos');
 * ```
 */
export async function loadBytes(key: string): Promise<Uint8Array | undefined> {
  const v = await tx<unknown>('readonly', (s) => s.get(key));
  return v === undefined ? undefined : new Uint8Array(v as ArrayBufferLike);
}

/**
 * Deletes what is stored under `key`.
 *
 * @example
 * ```ts
 * await deleteBytes('index:photos');
 * ```
 */
export async function deleteBytes(key: string): Promise<void> {
  await tx('readwrite', (s) => s.delete(key));
}

/**
 * Saves a model with tfjs's `indexeddb://` handler, keeping cbir's metadata (architecture, input size, `extra`).
 *
 * @example
 * ```ts
 * await saveModelToIndexedDb(ae, 'photos', { bestValLoss });
 * const { model } = await loadModelFromIndexedDb('photos');
 * ```
 */
export async function saveModelToIndexedDb(
  model: Autoencoder,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const [handler] = tf.io.getSaveHandlers(`indexeddb://${name}`);
  await handler.save!(await modelToArtifacts(model, extra));
}

/**
 * Loads a model saved by {@link saveModelToIndexedDb}.
 *
 * @throws {@link cbir-core!FormatError | FormatError} when nothing cbir saved is stored under `name`.
 * @example
 * ```ts
 * const { model, metadata } = await loadModelFromIndexedDb('photos');
 * ```
 */
export async function loadModelFromIndexedDb(name: string): Promise<{ model: Autoencoder; metadata: ModelMetadata }> {
  const [handler] = tf.io.getLoadHandlers(`indexeddb://${name}`);
  const artifacts = await handler.load!().catch((e: Error) => {
    throw new CbirError('INVALID_ARGUMENT', `loadModelFromIndexedDb: no model "${name}" in IndexedDB (${e.message}).`, {
      cause: e,
    });
  });
  return modelFromArtifacts(artifacts, `indexeddb://${name}`);
}

/**
 * Offers bytes as a file download (an index, a feature file, a model's files).
 *
 * @example
 * ```ts
 * downloadBytes(index.serialize(), 'photos.cbirindex');
 * ```
 */
export function downloadBytes(bytes: Uint8Array, filename: string): void {
  const url = URL.createObjectURL(new Blob([bytes.slice()], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Downloads a model as `model.json` and `weights.bin` (the file its manifest names), so that cbir-node's
 * `loadModel(dir)` (and `cbir embed --model dir`) read them from a folder.
 *
 * @example
 * ```ts
 * await downloadModel(ae);
 * ```
 */
export async function downloadModel(model: Autoencoder, extra: Record<string, unknown> = {}): Promise<void> {
  const { json, weights } = await modelToFiles(model, extra);
  downloadBytes(json, 'model.json');
  downloadBytes(weights, 'weights.bin');
}

/**
 * Loads a model from an uploaded `model.json` and the weights file it names (`weights-<crc>.bin` from cbir-node's
 * `saveModel`, `weights.bin` from {@link downloadModel}).
 *
 * @example
 * ```ts
 * const { model } = await modelFromUploads(jsonFile, weightsFile);
 * ```
 */
export async function modelFromUploads(
  json: Blob,
  weights: Blob,
): Promise<{ model: Autoencoder; metadata: ModelMetadata }> {
  return modelFromFiles(
    new Uint8Array(await json.arrayBuffer()),
    async () => new Uint8Array(await weights.arrayBuffer()),
    (json as File).name ?? 'model.json',
  );
}
