// CI: `cbir serve` on the quickstart's output, as a user runs it after `pnpm quickstart`: the page loads, a held-out
// query image (not in the index) is searched by upload with the quickstart's model, an indexed item's neighbours and
// the clusters answer, and Ctrl-C stops the server with exit 0. Usage: node scripts/check-serve.mjs [cbir-report]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? 'cbir-report';
const fail = (msg) => {
  console.error(`check-serve: ${msg}`);
  process.exit(1);
};
const server = spawn(
  process.execPath,
  [
    'packages/cli/dist/main.js',
    'serve',
    '--index',
    join(out, 'exact.cbirindex'),
    '--model',
    join(out, 'model'),
    '--clusters',
    join(out, 'assignments.csv'),
    '--port',
    '0',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let log = '';
server.stderr.on('data', (b) => (log += b));
const base = await new Promise((resolve) => {
  server.stdout.on('data', (b) => {
    log += b;
    const m = /listening on (http:\/\/[^/\s]+)\//.exec(log);
    if (m) resolve(m[1]);
  });
  server.once('exit', (code) => fail(`cbir serve exited ${code}:\n${log}`));
});
const json = async (path, init) => {
  const res = await fetch(base + path, init);
  const body = await res.json();
  if (!res.ok) fail(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
};
const page = await fetch(`${base}/`);
if (!page.ok || !(await page.text()).includes('/app.js')) fail('the page did not load');
const info = await json('/api/info');
if (!info.query || info.index.size < 10) fail(`unexpected /api/info: ${JSON.stringify(info)}`);
if (log.includes('does not record the model')) fail(`the quickstart's index does not record its pipeline:\n${log}`);
// The quickstart's held-out queries: .cache/fashion-mnist-*/queries/<label>/*.png.
const cache = readdirSync('.cache').find((d) => d.startsWith('fashion-mnist-'));
const label = readdirSync(join('.cache', cache, 'queries'))[0];
const file = join('.cache', cache, 'queries', label, readdirSync(join('.cache', cache, 'queries', label))[0]);
const form = new FormData();
form.append('image', new Blob([readFileSync(file)], { type: 'image/png' }), 'query.png');
const found = await json('/api/search?k=10', { method: 'POST', body: form });
if (found.results.length !== 10) fail(`expected 10 results, got ${JSON.stringify(found)}`);
const sameLabel = found.results.filter((r) => r.label === label).length;
const similar = await json(`/api/similar/${found.results[0].id}?k=5`);
const clusters = await json('/api/clusters');
console.log(
  `check-serve: ${info.name} (${info.index.size} items, ${info.query}); ${file} (${label}): ${sameLabel} of 10 results share its label; similar to ${found.results[0].id}: ${similar.results.map((r) => r.id).join(', ')}; ${clusters.k} clusters`,
);
server.kill('SIGINT');
const code = await new Promise((resolve) => server.removeAllListeners('exit').once('exit', resolve));
if (code !== 0) fail(`cbir serve exited ${code} on Ctrl-C:\n${log}`);
if (!log.includes('cbir serve: stopped.')) fail(`no drain message:\n${log}`);
