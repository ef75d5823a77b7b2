// End-to-end: the built demo page in Debian's Chromium (playwright-core, no browser download), on the wasm backend
// (and, last, on webgpu with Chromium's SwiftShader adapter).
// Loads 40 generated images, trains one epoch, builds an index, searches, checks the results; round-trips a model and
// an index between the page and Node; saves a screenshot to e2e-output/.
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  ConvAutoencoderV2,
  directoryDataset,
  embedImages,
  initNodeBackend,
  loadIndex,
  loadModel,
  saveModel,
} from 'cbir-node';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = join(here, '../dist-demo');
const output = join(here, '../../../e2e-output');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const COLOURS: Record<string, [number, number, number]> = {
  red: [210, 40, 40],
  green: [40, 190, 60],
  blue: [40, 70, 210],
  yellow: [220, 200, 40],
};

/** 40 images, 32 x 32 (the model's size: no resampling, so the page and Node see the same pixels), 10 per colour. */
async function images(): Promise<{ name: string; mimeType: string; buffer: Buffer }[]> {
  const out = [];
  for (const [colour, [r, g, b]] of Object.entries(COLOURS)) {
    for (let i = 0; i < 10; i++) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="rgb(${r},${g},${b})"/>
        <circle cx="${6 + i * 2}" cy="${10 + (i % 4) * 4}" r="${3 + (i % 5)}" fill="rgb(${255 - r},${255 - g},${255 - b})"/></svg>`;
      out.push({
        name: `${colour}-${String(i).padStart(2, '0')}.png`,
        mimeType: 'image/png',
        buffer: await sharp(Buffer.from(svg)).png().toBuffer(),
      });
    }
  }
  return out;
}

function serve(root: string): Promise<Server> {
  const types: Record<string, string> = {
    '.html': 'text/html',
    '.js': 'text/javascript',
    '.css': 'text/css',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
  };
  const server = createServer(async (req, res) => {
    const path = normalize(
      join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname).replace(/\/$/, '/index.html')),
    );
    if (!path.startsWith(root)) return void res.writeHead(403).end();
    try {
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Loads `files` into the page and trains `model` for one epoch at 32 px; returns the epoch's seconds. */
async function trainOneEpoch(
  page: Page,
  files: Awaited<ReturnType<typeof images>>,
  model: 'v1' | 'v2',
  timeout: number,
): Promise<number> {
  await page.setInputFiles('#files', files);
  await expect.poll(() => page.textContent('#data-status')).toContain(`${files.length} images`);
  await page.fill('#epochs', '1');
  await page.fill('#size', '32');
  await page.selectOption('#model', model);
  await page.click('#train');
  await page.waitForSelector('body[data-trained="true"]', { timeout });
  return page.evaluate(() => (window as any).cbirDemo.epochSeconds as number);
}

/** Builds the exact index in the page and searches with the first image; returns the page's 10 results. */
async function searchFirst(page: Page): Promise<{ id: string; distance: number }[]> {
  await page.click('#build');
  await page.waitForSelector('body[data-indexed="exact"]');
  await page.click('[data-testid="thumb-0"]');
  await page.waitForSelector('body[data-searched="10"]');
  return page.evaluate(() => (window as any).cbirDemo.lastResults as { id: string; distance: number }[]);
}

describe('the demo page in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;
  let url: string;
  let files: Awaited<ReturnType<typeof images>>;
  const logs: string[] = [];

  beforeAll(async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    files = await images();
    server = await serve(dist);
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/?backend=wasm`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1200, height: 1400 }, acceptDownloads: true });
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('trains one epoch on wasm, builds an index, and finds images of the same colour', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 }).catch((e) => {
      throw new Error(`${e.message}\n${logs.join('\n')}`);
    });
    const epochSeconds = await trainOneEpoch(page, files, 'v2', 300_000);
    console.log(
      `one epoch of ConvAutoencoderV2 at 32x32 on 34 images (85%), wasm in Chromium: ${epochSeconds.toFixed(2)} s; ${await page.textContent('#train-status')}`,
    );

    const results = await searchFirst(page);
    expect(results).toHaveLength(10);
    // The query (files sort by name: blue-00.png first) is not listed as its own first result, as the CLI does.
    expect(results.map((r) => r.id)).not.toContain('blue-00.png');
    expect(results[0].distance).toBeGreaterThan(0);
    for (let j = 1; j < 10; j++) expect(results[j].distance).toBeGreaterThanOrEqual(results[j - 1].distance);
    const sameColour = results.filter((r) => r.id.startsWith('blue-')).length;
    expect(sameColour).toBeGreaterThanOrEqual(7);
    expect(await page.locator('[data-testid^="result-"]').count()).toBe(10);

    await page.click('#elbow');
    await page.waitForSelector('#elbow-chart svg, #elbow-chart canvas', { timeout: 60_000 });
    await mkdir(output, { recursive: true });
    await page.screenshot({ path: join(output, 'demo.png'), fullPage: true });
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });

  it('decodes in the page exactly as sharp does in Node at the same size', async () => {
    const png = files[5].buffer;
    const pagePixels = await page.evaluate(async (bytes) => {
      const { lib } = (window as any).cbirDemo;
      const image = await lib
        .canvasDecoder({ size: 32 })
        .decode(new Blob([new Uint8Array(bytes)], { type: 'image/png' }));
      return Array.from(image.data as Uint8Array);
    }, Array.from(png));
    const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(pagePixels).toEqual(Array.from(data));
  });

  it('keeps the model and the index in IndexedDB across a reload', async () => {
    await page.click('#save');
    await expect.poll(() => page.textContent('#index-status')).toContain('saved in this browser');
    const before = await page.evaluate(() =>
      Array.from((window as any).cbirDemo.features.matrix.data.slice(0, 8) as Float32Array),
    );
    await page.reload();
    await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 });
    const after = await page.evaluate(async () => {
      const { lib } = (window as any).cbirDemo;
      const { model, metadata } = await lib.loadModelFromIndexedDb('demo');
      const index = lib.deserializeIndex(await lib.loadBytes('index:demo'), 'index:demo');
      return {
        architecture: metadata.architecture,
        inputSize: model.inputSize,
        size: index.size,
        vector: Array.from(index.vector(0) as Float32Array).slice(0, 8),
      };
    });
    expect(after).toMatchObject({ architecture: 'ConvAutoencoderV2', inputSize: 32, size: 40 });
    expect(after.vector).toHaveLength(8);
    after.vector.forEach((v, i) => expect(v).toBeCloseTo(before[i], 6));
  });

  it('round-trips a model and an index between the page and Node', async () => {
    // Page -> Node: the downloads are cbir-node's files; Node embeds the same images to the same features.
    await page.goto(url);
    await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 });
    await page.setInputFiles('#files', files);
    await page.fill('#epochs', '1');
    await page.click('#train');
    await page.waitForSelector('body[data-trained="true"]', { timeout: 300_000 });
    await page.click('#build');
    const dir = await mkdtemp(join(tmpdir(), 'cbir-e2e-'));
    const downloads = new Promise<void>((resolve) => {
      let n = 0;
      page.on('download', async (d) => {
        await d.saveAs(join(dir, d.suggestedFilename()));
        if (++n === 3) resolve();
      });
    });
    await page.click('#download');
    await downloads;
    const { model } = await loadModel(dir);
    const imagesDir = join(dir, 'images');
    await mkdir(imagesDir);
    for (const f of files) await writeFile(join(imagesDir, f.name), f.buffer);
    const nodeFeatures = await embedImages(model, await directoryDataset(imagesDir, { size: 32 }));
    const pageFeatures = await page.evaluate(() =>
      Array.from((window as any).cbirDemo.features.matrix.data as Float32Array),
    );
    expect(pageFeatures).toHaveLength(nodeFeatures.matrix.data.length);
    let maxDiff = 0;
    pageFeatures.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - nodeFeatures.matrix.data[i]))));
    expect(maxDiff).toBeLessThan(1e-4);
    const index = await loadIndex(join(dir, 'demo.cbirindex'));
    expect(index.size).toBe(40);

    // Node -> page: a model trained (here: initialised) in Node, uploaded into the page, encodes as in Node.
    const fresh = new ConvAutoencoderV2({ inputSize: 32, seed: 7 });
    await saveModel(fresh, join(dir, 'node-model'));
    const json = await readFile(join(dir, 'node-model', 'model.json'));
    // saveModel names the weights file by its checksum; model.json says which it is.
    const weights = await readFile(
      join(dir, 'node-model', JSON.parse(json.toString('utf8')).weightsManifest[0].paths[0]),
    );
    const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 3) as tf.Tensor4D;
    const z = fresh.encode(x);
    const inNode = Array.from(z.dataSync());
    // Bytes cross into the page as base64 (a 13 MB array of numbers takes a minute to serialise).
    const inPage = await page.evaluate(
      async ([j, w, input]) => {
        const { lib, tf: ptf } = (window as any).cbirDemo;
        const bytes = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const { model } = await lib.modelFromUploads(new Blob([bytes(j)]), new Blob([bytes(w)]));
        const t = model.encode(ptf.tensor4d(input, [1, 32, 32, 3]));
        return Array.from(t.dataSync() as Float32Array);
      },
      [json.toString('base64'), weights.toString('base64'), Array.from(x.dataSync())] as const,
    );
    tf.dispose([x, z]);
    expect(inPage).toHaveLength(inNode.length);
    inPage.forEach((v, i) => expect(Math.abs(v - inNode[i])).toBeLessThan(1e-4));
  });

  it('works with the network off after the first load (service worker)', async () => {
    await page.goto(url);
    await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 });
    await page.evaluate(() => navigator.serviceWorker.ready);
    await page.reload(); // a load under the service worker's control caches everything the page fetches
    await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 });
    await page.context().setOffline(true);
    try {
      await page.reload();
      await page.waitForSelector('body[data-backend="wasm"]', { timeout: 60_000 });
      await page.setInputFiles('#files', files.slice(0, 8));
      await expect.poll(() => page.textContent('#data-status')).toContain('8 images');
    } finally {
      await page.context().setOffline(false);
    }
  });

  it('chooses the fastest backend the browser has when none is asked for, and says why it skipped the others', async () => {
    await page.goto(url.replace('?backend=wasm', ''));
    await page.waitForSelector('body[data-backend]', { timeout: 60_000 });
    const chosen = await page.getAttribute('body', 'data-backend');
    const footer = await page.textContent('#backend');
    console.log(`default backend in headless Chromium: ${footer}`);
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(chosen);
    if (chosen !== 'webgpu') expect(footer).toContain('webgpu:'); // the reason it was skipped
    // One epoch on that backend too, for the record (software WebGL in headless Chromium blocks the page while it
    // compiles shaders, hence the long timeouts).
    await page.setInputFiles('#files', files, { timeout: 120_000 });
    await page.click('#train', { timeout: 120_000 });
    await page.waitForSelector('body[data-trained="true"]', { timeout: 300_000 });
    console.log(
      `one epoch on ${chosen}: ${(await page.evaluate(() => (window as any).cbirDemo.epochSeconds as number)).toFixed(2)} s`,
    );
  });

  it('skips WebGL on a software rasterizer: headless Chromium draws with SwiftShader, where wasm is far faster', async () => {
    const fresh = await browser.newPage();
    try {
      await fresh.goto(url.replace('?backend=wasm', ''));
      await fresh.waitForSelector('body[data-backend]', { timeout: 60_000 });
      const renderer = await fresh.evaluate(() => {
        const gl = document.createElement('canvas').getContext('webgl');
        const info = gl?.getExtension('WEBGL_debug_renderer_info');
        return info ? String(gl!.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null;
      });
      const chosen = await fresh.getAttribute('body', 'data-backend');
      const software = renderer === null || /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
      console.log(`WebGL renderer: ${renderer}; chosen: ${chosen}; ${await fresh.textContent('#backend')}`);
      // Not webgl on a software rasterizer (wasm, or webgpu where the browser has a working adapter).
      if (software) expect(['wasm', 'webgpu']).toContain(chosen);
      else expect(chosen).toBe('webgpu' === chosen ? 'webgpu' : 'webgl');
      if (renderer !== null && software) expect(await fresh.textContent('#backend')).toContain('software rasterizer');
    } finally {
      await fresh.close();
    }
  });
});

describe('the demo page on webgpu (Chromium, --enable-unsafe-webgpu: a SwiftShader adapter)', () => {
  let server: Server;
  let browser: Browser;
  const logs: string[] = [];

  beforeAll(async () => {
    server = await serve(dist);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  // V1, whose epoch takes seconds on SwiftShader where V2's takes about two minutes (the wasm run above trains V2).
  it('trains one epoch of V1 on webgpu, encodes as Node does, and finds images of the same colour', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    const port = (server.address() as { port: number }).port;
    await page.goto(`http://127.0.0.1:${port}/?backend=webgpu`);
    await page.waitForSelector('body[data-backend="webgpu"]', { timeout: 120_000 }).catch((e) => {
      throw new Error(`${e.message}\n${logs.join('\n')}`);
    });
    const adapter = await page.evaluate(async () => {
      const a = await (navigator as any).gpu.requestAdapter();
      return a ? `${a.info?.vendor} ${a.info?.architecture} ${a.info?.description}` : null;
    });
    console.log(`WebGPU adapter in headless Chromium: ${adapter}`);
    const seconds = await trainOneEpoch(page, await images(), 'v1', 480_000);
    console.log(`one epoch of V1 at 32 px on webgpu in Chromium: ${seconds.toFixed(2)} s`);
    // The page's model encodes as the same weights do in Node (wasm), to 1e-4.
    const { weights, input, latent } = await page.evaluate(async () => {
      const { tf: ptf, model } = (window as any).cbirDemo;
      const x = ptf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 3);
      const z = model.encode(x);
      const out = {
        weights: await Promise.all(
          model.model.getWeights().map(async (w: any) => ({ shape: w.shape, data: Array.from(await w.data()) })),
        ),
        input: Array.from(await x.data()),
        latent: Array.from(await z.data()),
      };
      ptf.dispose([x, z]);
      return out;
    });
    await initNodeBackend({ prefer: ['wasm'] });
    const mine = new ConvAutoencoder({ inputSize: 32 });
    mine.model.setWeights(weights.map((w: { shape: number[]; data: number[] }) => tf.tensor(w.data, w.shape)));
    const z = mine.encode(tf.tensor4d(input as number[], [2, 32, 32, 3]));
    const inNode = await z.data();
    let diff = 0;
    (latent as number[]).forEach((v, i) => (diff = Math.max(diff, Math.abs(v - inNode[i]))));
    expect(diff).toBeLessThan(1e-4);
    mine.dispose();
    z.dispose();

    const results = await searchFirst(page);
    expect(results.filter((r) => r.id.startsWith('blue-')).length).toBeGreaterThanOrEqual(7);
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
    await page.close();
  });
});
