// CI: runs a built cbir-browser app (examples/browser-vite after `vite build`) in Chromium, from a static server with
// no network beyond it, and checks what the page reports: the wasm backend loaded its .wasm files from the app's own
// build (no CDN), the colour-histogram search ranked the query's class first, the autoencoder's latents are finite,
// and no tensor was left behind. Usage: node scripts/check-browser-app.mjs DIST_DIR
// (playwright-core is resolved from cbir-browser's dev dependencies; Chromium is Debian's, or CHROMIUM_PATH).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join, normalize } from 'node:path';

const dist = process.argv[2];
if (!dist) throw new Error('usage: node scripts/check-browser-app.mjs DIST_DIR');
const { chromium } = createRequire(new URL('../packages/browser/package.json', import.meta.url))('playwright-core');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
const served = [];
const server = createServer(async (req, res) => {
  const asked = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  const path = asked === '/' ? '/index.html' : asked;
  try {
    const body = await readFile(join(dist, path));
    served.push(path);
    res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
let failed = false;
try {
  for (const backend of ['wasm', '']) {
    const page = await browser.newPage();
    const offsite = [];
    // Everything the page fetches must come from the app itself (the recipe's point: no CDN).
    await page.route('**/*', (route) =>
      route.request().url().startsWith(origin)
        ? route.continue()
        : (offsite.push(route.request().url()), route.abort()),
    );
    await page.goto(`${origin}/${backend ? `?backend=${backend}` : ''}`);
    await page.waitForFunction(() => document.body.dataset.result || document.body.dataset.error, null, {
      timeout: 120_000,
    });
    const { result, error } = await page.evaluate(() => ({ ...document.body.dataset }));
    const r = result ? JSON.parse(result) : undefined;
    const problems = [];
    if (error) problems.push(`the page failed: ${error}`);
    if (r) {
      if (backend && r.backend !== backend) problems.push(`backend ${r.backend}, asked for ${backend}`);
      if (r.hits.slice(0, 4).some((l) => l !== 'red'))
        problems.push(`the red query's 4 nearest are ${r.hits.join(', ')}`);
      if (r.latentShape.length !== 4 || r.latentShape[0] !== 12 || !r.latentFinite)
        problems.push(`latents ${r.latentShape.join('x')}, finite: ${r.latentFinite}`);
      if (r.numTensors !== 0) problems.push(`${r.numTensors} tensors left`);
    }
    if (offsite.length) problems.push(`fetched from outside the app: ${offsite.join(', ')}`);
    if (backend === 'wasm' && !served.some((p) => p.endsWith('.wasm')))
      problems.push('no .wasm file was served by the app');
    console.log(
      `check-browser-app${backend ? ` (?backend=${backend})` : ' (default backend)'}: ${r ? `${r.backend}, nearest ${r.hits.join(', ')}, latents ${r.latentShape.join('x')}` : 'no result'}`,
    );
    for (const p of problems) console.error(`check-browser-app: ${p}`);
    failed ||= problems.length > 0;
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
if (failed) process.exit(1);
console.log(`check-browser-app: ok (served ${[...new Set(served.filter((p) => p.endsWith('.wasm')))].join(', ')})`);
