import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterScatterSpec, elbowPlotSpec, silhouettePlotSpec } from 'cbir-node';
import { renderSvg, writePlot } from 'cbir';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

describe('plots', () => {
  const curve = [4, 5, 6, 7].map((k) => ({ k, distortion: 10 / k, inertia: 1000 / k }));

  it('renders the elbow plot to SVG with both panels and one marker per k, and to PNG', async () => {
    const svg = await renderSvg(elbowPlotSpec(curve));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Distortion');
    expect(svg).toContain('Inertia');
    // One cross marker per k in each of the two panels.
    expect(svg.match(/role-graphics-symbol|aria-roledescription="point"/g)?.length ?? 0).toBeGreaterThanOrEqual(8);
    const dir = await mkdtemp(join(tmpdir(), 'cbir-plot-'));
    const paths = await writePlot(elbowPlotSpec(curve), join(dir, 'elbow'));
    expect(await readFile(paths.svg, 'utf8')).toBe(svg);
    const meta = await sharp(paths.png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(800); // two 360-px panels at scale 2
  });

  it('draws the silhouette profile per cluster with the average as a dashed line', async () => {
    const samples = [0.9, 0.8, 0.7, 0.2, -0.1, 0.5];
    const labels = [0, 0, 0, 1, 1, 1];
    const spec = silhouettePlotSpec(samples, labels);
    expect(JSON.stringify(spec)).toContain('"strokeDash"');
    const svg = await renderSvg(spec);
    expect(svg).toContain('The silhouette coefficient values');
    expect(svg).toContain('0.500'); // the average, in the title
  });

  it('draws the scatter with its centres and rejects mismatched inputs', async () => {
    const svg = await renderSvg(clusterScatterSpec([0, 0, 1, 1, 5, 5], [0, 0, 1], [0.5, 0.5, 5, 5]));
    expect(svg).toContain('Cluster');
    expect(() => clusterScatterSpec([0, 0, 1], [0, 1])).toThrow(/give \[n, 2\] coordinates/);
    expect(() => silhouettePlotSpec([0.1], [0, 1])).toThrow(/one label per sample/);
    await expect(renderSvg({ mark: 'nonsense-mark' })).rejects.toThrow();
  });
});
