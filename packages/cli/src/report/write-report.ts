import { join } from 'node:path';
import { writeFileAtomic } from 'cbir-node';

/** What the quickstart report shows. */
export interface ReportData {
  dataset: string;
  images: number;
  classes: number;
  skipped: string[];
  model: string;
  epochs: number;
  bestValLoss: number;
  backend: string;
  /** Seconds per stage. */
  timings: Record<string, number>;
  metrics: { index: string; precision: Record<number, number>; map: number; msPerQuery: number }[];
  perClass: { label: string; precision: number; map: number }[];
  k: number;
  montages: { file: string; label?: string; precision?: number; newImage: boolean }[];
  elbow: { k: number; distortion: number; inertia: number }[];
  silhouette: number;
  silhouetteK: number;
  /** Which features to use, from the rows measured (the best mAP). */
  recommendation?: string;
}

const esc = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
const f3 = (v: number) => v.toFixed(3);

/**
 * Writes `report.html` into `dir` (beside the PNGs the quickstart drew there): one self-contained page, no scripts,
 * no network, that shows the retrieval results first and the numbers after.
 *
 * @returns The page's path.
 */
export async function writeReport(r: ReportData, dir: string): Promise<string> {
  const ks = Object.keys(r.metrics[0]?.precision ?? {}).map(Number);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cbir report: ${esc(r.dataset)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2327; background: #f6f7f7; }
  header { background: #1d2327; color: #fff; padding: 20px 32px; }
  header h1 { margin: 0 0 4px; font-size: 22px; } header p { margin: 0; color: #c3c4c7; }
  main { max-width: 1180px; margin: 0 auto; padding: 12px 32px 48px; }
  section { background: #fff; border: 1px solid #dcdcde; border-radius: 6px; padding: 16px 20px; margin: 18px 0; }
  h2 { font-size: 18px; margin: 0 0 12px; }
  table { border-collapse: collapse; } th, td { padding: 4px 12px; text-align: right; border-bottom: 1px solid #eee; }
  th:first-child, td:first-child { text-align: left; } th { background: #f0f0f1; }
  img { max-width: 100%; height: auto; } .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 16px; }
  figure { margin: 0 0 14px; } figcaption { color: #50575e; font-size: 13px; }
  .kpi { display: flex; gap: 28px; flex-wrap: wrap; } .kpi div { font-size: 13px; color: #50575e; } .kpi b { display: block; font-size: 24px; color: #1d2327; }
</style></head>
<body>
<header><h1>cbir report</h1><p>${esc(r.dataset)}: ${r.images} images, ${r.classes} classes. ${esc(r.model)}, ${r.epochs} epochs on the ${esc(r.backend)} backend.</p></header>
<main>
<section><div class="kpi">
  <div><b>${f3(r.metrics[0].precision[r.k])}</b>P@${r.k} (exact)</div>
  <div><b>${f3(r.metrics[0].map)}</b>mAP (exact)</div>
  <div><b>${r.bestValLoss.toFixed(4)}</b>best validation loss</div>
  <div><b>${f3(r.silhouette)}</b>silhouette at k = ${r.silhouetteK}</div>
  <div><b>${Object.values(r.timings)
    .reduce((a, b) => a + b, 0)
    .toFixed(1)} s</b>total time</div>
</div></section>

<section><h2>Query results</h2>
<p>${r.montages.some((m) => m.newImage) ? 'Each query is a new image, not in the index, embedded with the trained encoder.' : 'Each query is an indexed image.'} The red tile is the query; the others are its ${r.k} nearest neighbours by Euclidean distance, with the distance and label.</p>
${r.montages.map((m) => `<figure><img src="${esc(m.file)}" alt="query ${esc(m.label ?? '')} and its nearest neighbours"><figcaption>${m.label ? `label ${esc(m.label)}` : ''}${m.precision !== undefined ? `: ${Math.round(m.precision * r.k)} of ${r.k} results share it` : ''}</figcaption></figure>`).join('\n')}
</section>

<section><h2>Retrieval quality (leave-one-out by label)</h2>
<table><tr><th>index</th>${ks.map((k) => `<th>P@${k}</th>`).join('')}<th>mAP</th><th>ms / query</th></tr>
${r.metrics.map((m) => `<tr><td>${esc(m.index)}</td>${ks.map((k) => `<td>${f3(m.precision[k])}</td>`).join('')}<td>${f3(m.map)}</td><td>${m.msPerQuery.toFixed(3)}</td></tr>`).join('\n')}
</table>
${r.recommendation ? `<p><b>Recommended:</b> ${esc(r.recommendation)}.</p>` : ''}
<h3>By class (autoencoder, exact)</h3>
<table><tr><th>class</th><th>P@${r.k}</th><th>mAP</th></tr>
${r.perClass.map((c) => `<tr><td>${esc(c.label)}</td><td>${f3(c.precision)}</td><td>${f3(c.map)}</td></tr>`).join('\n')}
</table></section>

<section><h2>Training</h2><img src="training.png" alt="training and validation loss per epoch"></section>

<section><h2>Clustering the features</h2><div class="grid">
<figure><img src="elbow.png" alt="elbow plot"><figcaption>The elbow method: distortion and inertia against k.</figcaption></figure>
<figure><img src="silhouette.png" alt="silhouette plot"><figcaption>Silhouette plot at k = ${r.silhouetteK} (the number of classes); the dashed line is the average.</figcaption></figure>
</div>
<table><tr><th>k</th><th>distortion</th><th>inertia</th></tr>
${r.elbow.map((e) => `<tr><td>${e.k}</td><td>${e.distortion.toFixed(4)}</td><td>${e.inertia.toExponential(4)}</td></tr>`).join('\n')}
</table></section>

<section><h2>Run</h2>
<table><tr><th>stage</th><th>seconds</th></tr>
${Object.entries(r.timings)
  .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v.toFixed(2)}</td></tr>`)
  .join('\n')}
</table>
<p>Backend: ${esc(r.backend)}. ${r.skipped.length ? `Skipped (unreadable): ${r.skipped.map(esc).join(', ')}.` : 'Every image decoded.'} Files beside this page: the model (model/), the features (features.cbirfeat), both indexes (*.cbirindex), and the fused hand-crafted features and index (fused.cbirfeat, fused.cbirindex, with its diffusion graph), for <code>cbir search</code> and <code>cbir eval</code>.</p>
</section>
</main></body></html>
`;
  const path = join(dir, 'report.html');
  await writeFileAtomic(path, Buffer.from(html));
  return path;
}
