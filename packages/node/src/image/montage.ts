import sharp from 'sharp';

/** One tile of a montage: an image file and its caption. */
export interface MontageTile {
  path: string;
  caption: string;
  /** Draw a coloured frame (the query, say). */
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
export async function buildMontage(tiles: readonly MontageTile[], options: { tileSize?: number; columns?: number } = {}): Promise<Uint8Array> {
  const size = options.tileSize ?? 160;
  const columns = Math.max(1, Math.min(options.columns ?? 6, tiles.length));
  const bar = 22;
  const pad = 4;
  const rows = Math.ceil(tiles.length / columns);
  const w = columns * (size + pad) + pad;
  const h = rows * (size + bar + pad) + pad;
  const composites = await Promise.all(tiles.map(async (t, i) => {
    const left = pad + (i % columns) * (size + pad);
    const top = pad + Math.floor(i / columns) * (size + bar + pad);
    const img = await sharp(t.path).rotate().resize(size, size, { fit: 'cover' }).removeAlpha().png().toBuffer()
      .catch(() => sharp({ create: { width: size, height: size, channels: 3, background: '#777' } }).png().toBuffer());
    const caption = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${bar}">
      <rect width="100%" height="100%" fill="${t.highlight ? '#c0392b' : '#222'}"/>
      <text x="4" y="15" font-family="DejaVu Sans, Arial, sans-serif" font-size="12" fill="white">${escapeXml(t.caption)}</text></svg>`);
    return [{ input: img, left, top }, { input: caption, left, top: top + size }];
  }));
  const png = await sharp({ create: { width: w, height: h, channels: 3, background: '#ffffff' } }).composite(composites.flat()).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
