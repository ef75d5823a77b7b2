// End-to-end: a real `cbir serve` (the built CLI) over a small index built in the test, driven in Debian's Chromium
// (playwright-core, no browser download): upload, drop and paste an image, click through results, move by keyboard,
// filter by label, browse clusters, bad uploads answered on the page while the server keeps serving, a 320-px-wide
// layout, screenshots to e2e-output/, and Ctrl-C draining to exit 0.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/cli/dist/main.js');
const output = join(root, 'e2e-output');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const COLOURS: Record<string, [number, number, number]> = {
  red: [210, 40, 40],
  green: [40, 180, 60],
  blue: [40, 70, 210],
  yellow: [225, 205, 40],
};

function picture(rgb: [number, number, number], i: number, width = 96, height = 80): Promise<Buffer> {
  const [r, g, b] = rgb;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="rgb(${r},${g},${b})"/>
    <circle cx="${15 + i * 8}" cy="${20 + (i % 3) * 15}" r="${6 + (i % 4) * 3}" fill="rgb(${255 - r},${255 - g},${255 - b})"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** The base URL the server prints once it listens. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/[^/\s]+)\//.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`cbir serve exited ${code} before listening:\n${out}`)));
  });
}

/** `cbir serve ARGS` started in `cwd`, and a Chromium page of `viewport` whose console lands in `logs`. */
async function startServing(
  cwd: string,
  args: string[],
  viewport: { width: number; height: number },
  logs: string[],
  onOutput: (text: string) => void,
): Promise<{ server: ChildProcess; base: string; browser: Browser; page: Page }> {
  const server = spawn(process.execPath, [cli, 'serve', ...args], { cwd });
  server.stdout!.on('data', (d) => onOutput(String(d)));
  server.stderr!.on('data', (d) => onOutput(String(d)));
  const base = await listening(server);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport });
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  return { server, base, browser, page };
}

/** Closes the browser and kills the server if it still runs. */
async function stopServing(browser: Browser | undefined, server: ChildProcess | undefined): Promise<void> {
  await browser?.close();
  if (server && server.exitCode === null) server.kill('SIGKILL');
}

describe('cbir serve in Chromium', () => {
  let dir: string;
  let server: ChildProcess;
  let serverLog = '';
  let base: string;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbir-serve-e2e-'));
    for (const [colour, rgb] of Object.entries(COLOURS)) {
      await mkdir(join(dir, 'photos', colour), { recursive: true });
      for (let i = 0; i < 8; i++)
        await writeFile(join(dir, 'photos', colour, `${colour}-${i}.png`), await picture(rgb, i));
    }
    const cbir = (...a: string[]) => run(process.execPath, [cli, ...a], { cwd: dir });
    await cbir('features', '--data', join(dir, 'photos'), '--kind', 'colorhist', '--out', join(dir, 'f.cbirfeat'));
    await cbir(
      'index',
      '--features',
      join(dir, 'f.cbirfeat'),
      '--type',
      'exact',
      '--out',
      join(dir, 'photos.cbirindex'),
    );
    await cbir(
      'cluster',
      '--features',
      join(dir, 'f.cbirfeat'),
      '--out',
      join(dir, 'clusters'),
      '--k',
      '4',
      '--silhouette',
      '4',
    );
    ({ server, base, browser, page } = await startServing(
      dir,
      [
        ...['--index', join(dir, 'photos.cbirindex'), '--port', '0', '--max-megapixels', '1'],
        ...['--clusters', join(dir, 'clusters/assignments.csv')],
      ],
      { width: 1200, height: 900 },
      logs,
      (d) => (serverLog += d),
    ));
  });
  afterAll(() => stopServing(browser, server));

  const labels = () => page.$$eval('#results button .label', (els) => els.map((e) => e.textContent));
  const waitResults = (title: string) =>
    page.waitForFunction(
      (t) =>
        document.querySelector('#results-title')?.textContent?.includes(t) && document.body.dataset.state === 'results',
      title,
    );
  const healthy = async () => expect((await fetch(`${base}/healthz`)).status).toBe(200);

  it('shows the backend and the index, then searches with an uploaded image: its colour comes first', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]').catch((e) => {
      throw new Error(`${e.message}\n${logs.join('\n')}\n${serverLog}`);
    });
    expect(await page.textContent('#status')).toContain('photos.cbirindex: exact index, 32 items');
    expect(await page.textContent('#status')).toContain('queries: colorhist');
    await waitResults('The collection');
    await page.setInputFiles('#file', {
      name: 'query-red.png',
      mimeType: 'image/png',
      buffer: await picture(COLOURS.red, 3, 120, 90),
    });
    await waitResults('nearest to query-red.png');
    expect((await labels()).slice(0, 8)).toEqual(Array(8).fill('red'));
    expect(await page.isVisible('#query-image')).toBe(true);
    expect(await page.textContent('#status')).toMatch(/query \d+ ms/);
    expect(
      await page.$$eval('#results img', (imgs) =>
        imgs.every((i) => (i as HTMLImageElement).src.includes('/api/thumb/')),
      ),
    ).toBe(true);
  });

  it('clicking a result searches from it; the keyboard moves between results and Enter searches', async () => {
    const second = page.locator('#results button[data-id]').nth(1);
    const id = await second.getAttribute('data-id');
    await second.click();
    await waitResults(`nearest to item ${id}`);
    expect(page.url()).toContain(`#item=${id}`);
    expect(await page.textContent('#query-caption')).toContain(`item ${id}`);
    expect((await labels()).slice(0, 7)).toEqual(Array(7).fill('red'));
    // Focus is on the first result after a search; ArrowRight moves on, Enter searches from there.
    const third = await page.locator('#results button[data-id]').nth(1).getAttribute('data-id');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).toBe(third);
    await page.keyboard.press('Enter');
    await waitResults(`nearest to item ${third}`);
    await page.goBack();
    await waitResults(`nearest to item ${id}`);
  });

  it('drop and paste an image; filter by label', async () => {
    const blue = (await picture(COLOURS.blue, 5)).toString('base64');
    for (const how of ['drop', 'paste']) {
      await page.evaluate(
        ([b64, how]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const dt = new DataTransfer();
          dt.items.add(new File([bytes], `${how}.png`, { type: 'image/png' }));
          if (how === 'drop')
            document
              .getElementById('drop')!
              .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
          else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
        },
        [blue, how],
      );
      await waitResults(`nearest to ${how}.png`);
      expect((await labels()).slice(0, 8)).toEqual(Array(8).fill('blue'));
    }
    await page.selectOption('#label', 'yellow');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#results .label')].every((e) => e.textContent === 'yellow'),
    );
    expect(await labels()).toEqual(Array(8).fill('yellow'));
    await page.selectOption('#label', '');
  });

  it('bad uploads give a message on the page, and the server keeps serving', async () => {
    const big = await sharp({ create: { width: 1300, height: 1000, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    const bad: [string, { name: string; mimeType: string; buffer: Buffer }, RegExp][] = [
      [
        'a text file',
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('these are notes, not a picture') },
        /not an image cbir can read/,
      ],
      ['a 0-byte file', { name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }, /empty \(0 bytes\)/],
      [
        'an oversized image',
        { name: 'huge.png', mimeType: 'image/png', buffer: big },
        /1300 x 1000 \(1\.3 megapixels\); this server takes at most 1\.0/,
      ],
    ];
    for (const [what, file, message] of bad) {
      await page.setInputFiles('#file', file);
      await page.waitForSelector('#message:not([hidden])');
      expect(await page.textContent('#message'), what).toMatch(message);
      await healthy();
    }
    await page.setInputFiles('#file', {
      name: 'again.png',
      mimeType: 'image/png',
      buffer: await picture(COLOURS.green, 2),
    });
    await waitResults('nearest to again.png');
    expect(await page.isHidden('#message')).toBe(true);
    expect((await labels()).slice(0, 8)).toEqual(Array(8).fill('green'));
  });

  it('a where filter and a distance cut-off narrow the last search; a bad filter is explained on the page', async () => {
    // The last search is the upload of again.png (green): re-run with each change.
    await page.fill('#where', "label IN ('blue', 'yellow')");
    await page.press('#where', 'Enter');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#results .label')].every((e) => ['blue', 'yellow'].includes(e.textContent!)),
    );
    expect((await labels()).length).toBe(16);
    const distances = await page.$$eval('#results .distance', (els) => els.map((e) => Number(e.textContent)));
    // A cut-off between two shown distances (rounded to 0.001 on the page) keeps the results up to it.
    const at = distances.findIndex((d, i) => i >= 2 && distances[i + 1] > d);
    await page.fill('#max-distance', String((distances[at] + distances[at + 1]) / 2));
    await page.press('#max-distance', 'Enter');
    await page.waitForFunction((n) => document.querySelectorAll('#results button[data-id]').length === n, at + 1);
    await page.fill('#where', 'colour = 1');
    await page.press('#where', 'Enter');
    await page.waitForSelector('#message:not([hidden])');
    expect(await page.textContent('#message')).toMatch(
      /no column "colour" \(the columns: id, path, label, width, .*gps\)/,
    );
    await healthy();
    await page.fill('#where', '');
    await page.fill('#max-distance', '');
    await page.press('#max-distance', 'Enter');
    await waitResults('nearest to again.png');
    expect((await labels()).slice(0, 8)).toEqual(Array(8).fill('green'));
  });

  it('browses clusters; fits a 320-px-wide screen; screenshots', async () => {
    await page.click('#show-clusters');
    await waitResults('4 clusters');
    expect(new Set(await labels()).size).toBe(4);
    await mkdir(output, { recursive: true });
    await page.setInputFiles('#file', {
      name: 'query-yellow.png',
      mimeType: 'image/png',
      buffer: await picture(COLOURS.yellow, 1, 120, 90),
    });
    await waitResults('nearest to query-yellow.png');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#results img')].every(
        (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
      ),
    );
    await page.screenshot({ path: join(output, 'serve.png'), fullPage: true });
    await page.setViewportSize({ width: 320, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    const columns = await page.$$eval(
      '#results button[data-id]',
      (b) => new Set(b.map((x) => Math.round(x.getBoundingClientRect().left))).size,
    );
    expect(columns).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(output, 'serve-320.png'), fullPage: false });
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });

  it('Ctrl-C drains and exits 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(serverLog).toContain('cbir serve: stopped.');
  });
});

/** A seeded scene of shapes (for keypoints to hold on to), `width` x `height`. */
/** A JPEG with EXIF: camera, date taken. */
function photo(rgb: [number, number, number], i: number, make: string, model: string, taken: string): Promise<Buffer> {
  return picture(rgb, i).then((png) =>
    sharp(png)
      .withExif({ IFD0: { Make: make, Model: model }, IFD2: { DateTimeOriginal: taken } })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
}

describe('cbir serve in Chromium: a living library', () => {
  let dir: string;
  let server: ChildProcess;
  let serverLog = '';
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbir-serve-living-e2e-'));
    const photos = join(dir, 'photos');
    for (const [colour, rgb] of Object.entries(COLOURS)) {
      await mkdir(join(photos, colour), { recursive: true });
      for (let i = 0; i < 4; i++) {
        // Two cameras, two summers.
        const [make, model] = i % 2 ? ['Canon', 'EOS R6'] : ['NIKON CORPORATION', 'NIKON D750'];
        const taken = `${i < 2 ? 2023 : 2024}:07:${String(10 + i).padStart(2, '0')} 12:00:00`;
        await writeFile(join(photos, colour, `${colour}-${i}.jpg`), await photo(rgb, i, make, model, taken));
      }
    }
    const cbir = (...a: string[]) => run(process.execPath, [cli, ...a], { cwd: dir });
    await cbir('features', '--data', photos, '--kind', 'colorhist', '--out', join(dir, 'f.cbirfeat'));
    await cbir('index', '--features', join(dir, 'f.cbirfeat'), '--type', 'exact', '--out', join(dir, 'p.cbirindex'));
    ({ server, browser, page } = await startServing(
      dir,
      ['--index', join(dir, 'p.cbirindex'), '--port', '0', '--watch', photos],
      { width: 1200, height: 900 },
      logs,
      (d) => (serverLog += d),
    ));
  });
  afterAll(() => stopServing(browser, server));

  const tiles = () =>
    page.$$eval('#results button[data-id]', (bs) => bs.map((b) => ({ id: b.dataset.id!, title: b.title })));

  it('shows what each file records, and filters by camera and by the date taken', async () => {
    const base = /listening on (http:\/\/[^/\s]+)\//.exec(serverLog)![1];
    await page.goto(`${base}/#item=0`);
    await page.waitForFunction(() => document.body.dataset.state === 'results');
    const first = await tiles();
    expect(first[0].title).toMatch(
      /96 × 80, \d+ KiB, taken 202[34]-07-1\d 12:00, (Canon EOS R6|NIKON CORPORATION NIKON D750)/,
    );
    expect(await page.$$eval('#camera option', (o) => o.map((x) => x.textContent))).toEqual([
      'any',
      'Canon EOS R6',
      'NIKON CORPORATION NIKON D750',
    ]);
    await page.selectOption('#camera', { label: 'Canon EOS R6' });
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLButtonElement>('#results button[data-id]')].every((b) =>
        b.title.includes('Canon'),
      ),
    );
    expect((await tiles()).length).toBe(8);
    await page.fill('#taken-from', '2024-01-01');
    await page.dispatchEvent('#taken-from', 'change');
    await page.waitForFunction(() => document.querySelectorAll('#results button[data-id]').length === 4);
    expect((await tiles()).every((t) => /taken 2024-07-13/.test(t.title))).toBe(true);
    await page.fill('#taken-to', '2024-07-12');
    await page.dispatchEvent('#taken-to', 'change');
    await page.waitForFunction(() => document.querySelectorAll('#results button[data-id]').length === 0);
    for (const id of ['#taken-from', '#taken-to']) {
      await page.fill(id, '');
      await page.dispatchEvent(id, 'change');
    }
    await page.selectOption('#camera', '');
    await page.waitForFunction(() => document.querySelectorAll('#results button[data-id]').length === 15);
  });

  it('composes the query from the results: + and − add examples, which leave the results; Clear undoes them', async () => {
    const before = await tiles();
    const liked = before[3].id;
    await page.click(`#results li:has(button[data-id="${liked}"]) .tools .more`);
    await page.waitForSelector('#composition .chip.like');
    await page.waitForFunction(
      (id) =>
        ![...document.querySelectorAll<HTMLButtonElement>('#results button[data-id]')].some((b) => b.dataset.id === id),
      liked,
    );
    const unliked = (await tiles())[0].id;
    await page.click(`#results li:has(button[data-id="${unliked}"]) .tools .less`);
    await page.waitForSelector('#composition .chip.unlike');
    await page.waitForFunction(
      (id) =>
        ![...document.querySelectorAll<HTMLButtonElement>('#results button[data-id]')].some((b) => b.dataset.id === id),
      unliked,
    );
    await page.screenshot({ path: join(output, 'serve-living.png'), fullPage: true });
    await page.click('#composition .clear');
    await page.waitForSelector('#composition', { state: 'hidden' });
    await page.waitForFunction(
      (n) => document.querySelectorAll('#results button[data-id]').length === n,
      before.length,
    );
    expect((await tiles()).map((t) => t.id)).toEqual(before.map((t) => t.id));
  });

  it('a photo added to the watched folder appears without a restart', async () => {
    const base = /listening on (http:\/\/[^/\s]+)\//.exec(serverLog)![1];
    await page.goto(`${base}/`);
    await page.waitForFunction(
      () => document.body.dataset.view === 'browse' && document.body.dataset.state === 'results',
    );
    await writeFile(
      join(dir, 'photos', 'green', 'fresh.jpg'),
      await photo([20, 250, 20], 9, 'FUJIFILM', 'X100V', '2025:01:02 08:00:00'),
    );
    await page.waitForFunction(() => document.body.dataset.size === '17', undefined, { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/1 new items/);
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLButtonElement>('#results button[data-id]')].some((b) =>
        b.title.includes('fresh.jpg'),
      ),
    );
    expect(await page.$$eval('#camera option', (o) => o.map((x) => x.textContent))).toContain('FUJIFILM X100V');
    expect(serverLog).toMatch(/synced .*photos: 1 added, 0 changed, 0 removed/);
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});

function scene(seed: number, width = 480, height = 360): Promise<Buffer> {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const shapes = Array.from({ length: 60 }, () => {
    const [x, y, w, h] = [rand() * width, rand() * height, 10 + rand() * 80, 10 + rand() * 80];
    const c = `rgb(${Math.floor(rand() * 256)},${Math.floor(rand() * 256)},${Math.floor(rand() * 256)})`;
    return rand() < 0.5
      ? `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${c}"/>`
      : `<circle cx="${x}" cy="${y}" r="${w / 2}" fill="${c}"/>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#ddd"/>${shapes.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

describe('cbir serve in Chromium: reviewing duplicates', () => {
  let dir: string;
  let server: ChildProcess;
  let serverLog = '';
  let base: string;
  let browser: Browser;
  let page: Page;
  const logs: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cbir-serve-dups-e2e-'));
    const photos = join(dir, 'photos');
    await mkdir(join(photos, 'trip'), { recursive: true });
    await mkdir(join(photos, 'home'), { recursive: true });
    const [beach, dunes, harbour, garden] = await Promise.all([1, 2, 3, 4].map((s) => scene(s)));
    const files: [string, Buffer | Promise<Buffer>][] = [
      ['trip/beach.png', beach],
      ['trip/beach-small.jpg', sharp(beach).resize(240, 180).jpeg({ quality: 70 }).toBuffer()],
      ['home/beach-mirrored.png', sharp(beach).flop().png().toBuffer()],
      ['trip/dunes.png', dunes],
      [
        'home/dunes-cropped.jpg',
        sharp(dunes).extract({ left: 40, top: 30, width: 384, height: 288 }).jpeg().toBuffer(),
      ],
      ['trip/harbour.png', harbour],
      ['home/garden.png', garden],
    ];
    for (const [file, bytes] of files) await writeFile(join(photos, file), await bytes);
    const cbir = (...a: string[]) => run(process.execPath, [cli, ...a], { cwd: dir });
    await cbir('features', '--data', photos, '--kind', 'colorhist', '--out', join(dir, 'f.cbirfeat'));
    await cbir('index', '--features', join(dir, 'f.cbirfeat'), '--type', 'exact', '--out', join(dir, 'p.cbirindex'));
    await cbir('dedup', '--data', photos, '--report', join(dir, 'dups.json'));
    ({ server, base, browser, page } = await startServing(
      dir,
      ['--index', join(dir, 'p.cbirindex'), '--port', '0', '--duplicates', join(dir, 'dups.json')],
      { width: 1000, height: 800 },
      logs,
      (d) => (serverLog += d),
    ));
  });
  afterAll(() => stopServing(browser, server));

  const groups = () =>
    page.$$eval('#results li.group', (lis) =>
      lis.map((li) =>
        [...li.querySelectorAll('.copy')].map((c) => ({
          verdict: c.querySelector('.verdict')!.textContent,
          file: c.querySelector('.label')!.textContent,
          facts: c.querySelector('.facts')!.textContent,
          keep: c.classList.contains('keep'),
          indexed: c.querySelector('button') !== null,
        })),
      ),
    );

  it('shows each group side by side, the copy to keep first with its size, every thumbnail loaded', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]').catch((e) => {
      throw new Error(`${e.message}\n${logs.join('\n')}\n${serverLog}`);
    });
    expect(await page.textContent('#show-duplicates')).toBe('Duplicates (2)');
    await page.click('#show-duplicates');
    await page.waitForFunction(() => document.querySelector('#results-title')?.textContent?.includes('2 groups'));
    expect(await page.textContent('#results-title')).toMatch(
      /^2 groups of duplicates among 7 images \(orb\): groups 1–2; keep the first of each \(most pixels, then largest file/,
    );
    expect(page.url()).toContain('#duplicates=0');
    const shown = await groups();
    expect(shown.map((g) => g.map((c) => c.file).sort())).toEqual([
      ['beach-mirrored.png', 'beach-small.jpg', 'beach.png'],
      ['dunes-cropped.jpg', 'dunes.png'],
    ]);
    for (const g of shown) {
      expect(g.map((c) => c.verdict)).toEqual(['keep', ...Array(g.length - 1).fill('move')]);
      expect(g.map((c) => c.keep)).toEqual([true, ...Array(g.length - 1).fill(false)]);
      // The keeper has the most pixels: a full-size original, never the small or the cropped copy.
      expect(g[0].facts).toMatch(/^480 × 360, \d+ KiB$/);
      expect(g.every((c) => c.indexed)).toBe(true);
    }
    expect(shown[0].find((c) => c.file === 'beach-small.jpg')!.facts).toMatch(/^240 × 180, /);
    await page.waitForFunction(() =>
      [...document.querySelectorAll('#results .copy img')].every(
        (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
      ),
    );
    await mkdir(output, { recursive: true });
    await page.screenshot({ path: join(output, 'serve-duplicates.png'), fullPage: true });
  });

  it('a copy that is indexed searches from itself; Back returns to the groups', async () => {
    const copy = page.locator('#results .copy button').nth(1);
    const id = await copy.getAttribute('data-id');
    await copy.click();
    await page.waitForFunction(
      (t) =>
        document.querySelector('#results-title')?.textContent?.includes(t) && document.body.dataset.state === 'results',
      `nearest to item ${id}`,
    );
    await page.goBack();
    await page.waitForFunction(() => document.querySelectorAll('#results li.group').length === 2);
    expect(logs.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  });
});
