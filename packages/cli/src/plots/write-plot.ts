import { CbirError, type VegaLiteSpec } from 'cbir-core';
import sharp from 'sharp';
import { writeFileAtomic } from 'cbir-node';

/**
 * Renders a Vega-Lite spec (from `elbowPlotSpec`, `silhouettePlotSpec`, `clusterScatterSpec` or your own) to SVG with
 * Vega's headless renderer; no browser involved.
 *
 * @example
 * ```ts
 * const svg = await renderSvg(elbowPlotSpec(curve));
 * ```
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  // Dynamic imports: vega and vega-lite are ESM-only and heavy; loaded when a plot is drawn, not when `cbir` starts.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  let compiled;
  try {
    compiled = vl.compile(spec as never).spec;
  } catch (e) {
    throw new CbirError('INVALID_ARGUMENT', `renderSvg: the Vega-Lite spec does not compile: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Vega-Lite spec and writes `<base>.svg` and `<base>.png` (the SVG rasterised by sharp at `scale` x),
 * each atomically.
 *
 * @returns The two paths written.
 * @example
 * ```ts
 * await writePlot(silhouettePlotSpec(silhouetteSamples(x, labels), labels), 'report/silhouette-6');
 * ```
 */
export async function writePlot(
  spec: VegaLiteSpec,
  base: string,
  options: { scale?: number } = {},
): Promise<{ svg: string; png: string }> {
  const svg = await renderSvg(spec);
  const png = await sharp(Buffer.from(svg), { density: 72 * (options.scale ?? 2) })
    .png()
    .toBuffer();
  await writeFileAtomic(`${base}.svg`, Buffer.from(svg));
  await writeFileAtomic(`${base}.png`, png);
  return { svg: `${base}.svg`, png: `${base}.png` };
}
