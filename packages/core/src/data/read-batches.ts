import { CbirError, ImageDecodeError, throwIfAborted } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';
import type { LongRunning } from '../progress.js';
import type { DatasetEntry, ImageDataset } from './image-dataset.js';

/** An item of a dataset that decoded. */
export interface DecodedItem {
  /** Its position in the dataset. */
  index: number;
  image: RawImage;
  entry: DatasetEntry;
}

/**
 * Reads a dataset in batches, decoding the next batch while the caller works on this one. Items that fail to decode
 * are reported (a `warning` event with code `IMAGE_SKIPPED`), added to `skipped` and left out; any other error stops
 * the read. Emits `{ stage, done, total }` after each batch and stops at a batch boundary when `signal` aborts.
 * @internal
 */
export async function* readBatches(
  data: ImageDataset,
  {
    batchSize = 32,
    onProgress,
    signal,
    stage = 'embed',
    where = 'readBatches',
  }: LongRunning & { batchSize?: number; stage?: 'embed' | 'load'; where?: string },
  skipped: string[],
): AsyncGenerator<DecodedItem[]> {
  const load = (lo: number) =>
    Promise.all(
      Array.from({ length: Math.min(batchSize, data.size - lo) }, async (_, k): Promise<DecodedItem | undefined> => {
        const index = lo + k;
        try {
          return { index, image: await data.read(index), entry: data.entry(index) };
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          skipped.push(data.entry(index).id);
          onProgress?.({ stage: 'warning', code: 'IMAGE_SKIPPED', message: `${data.entry(index).id}: ${e.message}` });
          return undefined;
        }
      }),
    );
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new CbirError('INVALID_ARGUMENT', `${where}: batchSize must be a positive integer, got ${batchSize}.`);
  let next = data.size > 0 ? load(0) : undefined;
  for (let lo = 0; lo < data.size; lo += batchSize) {
    throwIfAborted(signal, where);
    const batch = await next!;
    next = lo + batchSize < data.size ? load(lo + batchSize) : undefined;
    // A rejected prefetch must not go unhandled if the caller stops early; it is awaited (and thrown) next turn.
    next?.catch(() => undefined);
    yield batch.filter((b): b is DecodedItem => b !== undefined);
    onProgress?.({ stage, done: Math.min(data.size, lo + batchSize), total: data.size });
  }
}
