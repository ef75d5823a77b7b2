import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';

/**
 * A folder of generated images in class sub-folders (no image is copied from anywhere): `perClass` images per class,
 * each a gradient with a class colour and a shape, in varied formats and modes (JPEG, PNG with alpha, grayscale,
 * CMYK, 16-bit), non-square, plus a corrupt .jpg and a README that is not an image.
 */
export async function makeImageFolder(perClass = 4, classes = ['red', 'green', 'blue']): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cbir-images-'));
  const colours: Record<string, [number, number, number]> = {
    red: [220, 40, 40],
    green: [40, 200, 60],
    blue: [40, 60, 220],
  };
  for (const c of classes) {
    await mkdir(join(dir, c));
    for (let i = 0; i < perClass; i++) {
      const [r, g, b] = colours[c] ?? [128, 128, 128];
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${60 + i * 7}" height="${48 + i * 5}">
        <rect width="100%" height="100%" fill="rgb(${r},${g},${b})"/>
        <circle cx="${20 + i * 5}" cy="20" r="${8 + i}" fill="white" opacity="0.8"/></svg>`;
      let img = sharp(Buffer.from(svg));
      const kind = i % 5;
      const name = join(dir, c, `${i}.${kind === 1 ? 'png' : 'jpg'}`);
      if (kind === 1)
        img = img.png(); // RGBA
      else if (kind === 2) img = img.grayscale().jpeg();
      else if (kind === 3) img = img.toColourspace('cmyk').jpeg();
      else if (kind === 4) img = img.toColourspace('rgb16').png();
      else img = img.jpeg();
      await writeFile(kind === 4 ? name.replace('.jpg', '.png') : name, await img.toBuffer());
    }
  }
  await writeFile(join(dir, classes[0], 'corrupt.jpg'), 'this is not a jpeg');
  await writeFile(join(dir, 'README.md'), '# not an image');
  return dir;
}
