import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BlockExtractor,
  CosineIndex,
  Retriever,
  openQueryEmbedder,
  readMetadata,
  syncIndex,
  type SyncReport,
} from 'cbir-node';
import { createSearchServer } from '../../src/serve/server.js';
import { FolderWatcher } from '../../src/serve/watch.js';
import { makeImageFolder } from '../../../node/test/helpers.js';

const extractor = new BlockExtractor([{ kind: 'colorhist', norm: 'hellinger' }]);

async function image(path: string, rgb: [number, number, number]): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="48" height="40"><rect width="100%" height="100%" fill="rgb(${rgb.join(',')})"/><circle cx="20" cy="20" r="9" fill="black"/></svg>`;
  await writeFile(path, await sharp(Buffer.from(svg)).jpeg().toBuffer());
}

/** Polls `check` until it holds (the watcher works on its own clock); fails with `what` after a generous minute. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never happened: ${what}`);
}

describe('cbir serve --watch', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await makeImageFolder(2);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('syncs at start, then follows new, changed and deleted files; the API serves them without a restart, equal to a sync from nothing', async () => {
    const retriever = new Retriever(new CosineIndex(extractor.dim), { extractor: extractor.spec() });
    retriever.embedder = await openQueryEmbedder(retriever, {});
    let saves = 0;
    const syncs: { report?: SyncReport; error?: Error }[] = [];
    const app = await createSearchServer({
      retriever,
      watch: {
        dir,
        debounceMs: 50,
        save: async () => void saves++,
        onSync: (s) => syncs.push(s),
      },
    });
    const get = async (url: string) => (await app.inject({ method: 'GET', url })).json();
    // The first sync ran before the server answered: the folder's six images (the corrupt one reported).
    const info = await get('/api/info');
    expect(info.index.size).toBe(6);
    expect(info.watch).toMatchObject({ dir, syncs: 1, last: { added: 6, failed: 1 } });
    expect(info.labels).toEqual(['blue', 'green', 'red']);
    expect(saves).toBe(1);

    await image(join(dir, 'green', 'fresh.jpg'), [10, 240, 10]);
    await unlink(join(dir, 'blue', '0.jpg'));
    await image(join(dir, 'red', '0.jpg'), [250, 250, 0]); // another picture under the same name (48 x 40, not 60 x 48)
    await eventually('the new file served, the deleted one gone, the changed one embedded again', async () => {
      const items = (await get('/api/items?limit=500')).items as { path: string; width: number }[];
      const paths = items.map((i) => i.path);
      return (
        paths.includes(join(dir, 'green/fresh.jpg')) &&
        !paths.includes(join(dir, 'blue/0.jpg')) &&
        items.find((i) => i.path === join(dir, 'red/0.jpg'))?.width === 48
      );
    });
    const fresh = ((await get('/api/items?limit=500')).items as { id: number; path: string }[]).find(
      (i) => i.path === join(dir, 'green/fresh.jpg'),
    )!;
    expect(await get(`/api/items/${fresh.id}`)).toMatchObject({ label: 'green', width: 48, height: 40 });
    const similar = await get(`/api/similar/${fresh.id}?k=3`);
    expect(similar.results).toHaveLength(3);
    expect((await get('/api/info')).watch.last.error).toBeUndefined();
    expect(syncs.every((s) => !s.error)).toBe(true);
    // What the served index holds equals a sync of the folder from nothing.
    const rebuilt = new Retriever(new CosineIndex(extractor.dim), { extractor: extractor.spec() });
    rebuilt.embedder = await openQueryEmbedder(rebuilt, {});
    await syncIndex(rebuilt, dir);
    const paths = async (r: Retriever) =>
      [...(await readMetadata(r.index)).values()].map((m) => JSON.stringify(m)).sort();
    await eventually('no sync running', async () => !(await get('/api/info')).watch.syncing);
    expect(await paths(retriever)).toEqual(await paths(rebuilt));
    await app.close();
    retriever.dispose();
    rebuilt.dispose();
  });

  it('FolderWatcher runs one sync at a time; a request during one schedules exactly one more', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const empty: SyncReport = {
      added: [],
      changed: [],
      touched: [],
      removed: [],
      failed: [],
      duplicates: 0,
      unchanged: 0,
      size: 0,
      dryRun: false,
    };
    let release!: () => void;
    const watcher = new FolderWatcher({
      dir: await mkdtemp(join(tmpdir(), 'cbir-watch-')),
      debounceMs: 10,
      sync: async () => {
        calls++;
        most = Math.max(most, ++running);
        if (calls === 2) await new Promise<void>((r) => (release = r));
        running--;
        return empty;
      },
    });
    await watcher.start(); // the first sync
    const second = watcher.syncNow();
    await eventually('the second sync started', async () => calls === 2);
    const third = watcher.syncNow();
    const fourth = watcher.syncNow(); // folded into the third
    release();
    await Promise.all([second, third, fourth]);
    expect(calls).toBe(3);
    expect(most).toBe(1);
    expect(watcher.status()).toMatchObject({ syncs: 3, syncing: false });
    await watcher.close();
    expect(() => new FolderWatcher({ dir: '.', sync: async () => empty, rescanMs: 0 })).toThrow(/rescanMs > 0/);
  });
});
