import sharp from 'sharp';

/** One tile of a montage: an image file and its caption. */
export interface MontageTile {
  path: string;
  caption: string;
  /** Draw a coloured frame (the query, say). @defaultValue false */
  highlight?: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Draws a labelled grid of images as PNG: the notebook's `build_montages`, with sharp. Each tile is the image fitted
 * into `tileSize` x `tileSize` (cover) over a caption bar. Unreadable images become grey tiles with their caption.
 *
 * @example
 * ```ts
 * const png = await buildMontage([{ path: 'q.jpg', caption: 'query', highlight: true }, { path: 'a.jpg', caption: '#1 d=0.12' }]);
 * ```
 */
export async function buildMontage(
  tiles: readonly MontageTile[],
  options: { tileSize?: number; columns?: number } = {},
): Promise<Uint8Array> {
  const size = options.tileSize ?? 160;
  const columns = Math.max(1, Math.min(options.columns ?? 6, tiles.length));
  const bar = 22;
  const pad = 4;
  const rows = Math.ceil(tiles.length / columns);
  const w = columns * (size + pad) + pad;
  const h = rows * (size + bar + pad) + pad;
  const composites = await Promise.all(
    tiles.map(async (t, i) => {
      const left = pad + (i % columns) * (size + pad);
      const top = pad + Math.floor(i / columns) * (size + bar + pad);
      const img = await sharp(t.path)
        .rotate()
        .resize(size, size, { fit: 'cover' })
        .removeAlpha()
        .png()
        .toBuffer()
        .catch(() =>
          sharp({ create: { width: size, height: size, channels: 3, background: '#777' } })
            .png()
            .toBuffer(),
        );
      const caption = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${bar}">
      <rect width="100%" height="100%" fill="${t.highlight ? '#c0392b' : '#222'}"/>
      <text x="4" y="15" font-family="DejaVu Sans, Arial, sans-serif" font-size="12" fill="white">${escapeXml(t.caption)}</text></svg>`);
      return [
        { input: img, left, top },
        { input: caption, left, top: top + size },
      ];
    }),
  );
  const png = await sharp({ create: { width: w, height: h, channels: 3, background: '#ffffff' } })
    .composite(composites.flat())
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * The notebook's `build_montages(images, (512, 512), (5, 2))[0]`: the first `columns x rows` images, each resized to
 * `tileSize` x `tileSize` (stretched, as `cv2.resize` does), laid out row by row on black with no gaps and no
 * captions; missing tiles stay black. Unreadable images are black tiles too.
 *
 * @param paths - Image files, in order (the results of a query; the notebook shows the query apart).
 * @param options - `tileSize` @defaultValue 512; `columns` @defaultValue 5; `rows` @defaultValue 2 (the notebook's).
 *
 * @example
 * ```ts
 * const png = await buildNotebookMontage(hits.map((h) => h.path!));   // 2,560 x 1,024 pixels
 * ```
 */
export async function buildNotebookMontage(
  paths: readonly string[],
  options: { tileSize?: number; columns?: number; rows?: number } = {},
): Promise<Uint8Array> {
  const size = options.tileSize ?? 512;
  const columns = options.columns ?? 5;
  const rows = options.rows ?? 2;
  const composites = await Promise.all(
    paths.slice(0, columns * rows).map(async (path, i) => {
      const input = await sharp(path)
        .rotate()
        .resize(size, size, { fit: 'fill' })
        .removeAlpha()
        .png()
        .toBuffer()
        .catch(() =>
          sharp({ create: { width: size, height: size, channels: 3, background: '#000' } })
            .png()
            .toBuffer(),
        );
      return { input, left: (i % columns) * size, top: Math.floor(i / columns) * size };
    }),
  );
  const png = await sharp({
    create: { width: columns * size, height: rows * size, channels: 3, background: '#000000' },
  })
    .composite(composites)
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
