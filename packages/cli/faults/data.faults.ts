// pnpm test:faults, the data a user keeps: `cbir index --engine lancedb` and `cbir add` killed at random moments,
// `cbir add` run again and again (a scheduled job), `cbir remove` given malformed id lists, ids after a remove, and
// folders whose names are not UTF-8. The built CLI throughout; kill times come from a seeded generator.
//
// Outcomes (see tally.ts): "lost" a table that is neither the old one nor the new one whole after a kill, or a rerun
// that does not finish it; "silent" a malformed request that changed the index, or an id given twice; "crash" a
// wrong exit code.
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { LanceIndex, loadIndex } from 'cbir-node';
import { writeNpy } from 'cbir-core/io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cbir, killTimes } from './cli.js';
import { Tally } from './tally.js';

const tally = new Tally();
let work: string;

/** `n` x `dim` seeded values as a .npy file. */
async function npy(path: string, n: number, dim: number, seed: number): Promise<string> {
  let s = seed >>> 0;
  const data = Float32Array.from({ length: n * dim }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  });
  await writeFile(path, writeNpy(data, [n, dim]));
  return path;
}

/** The rows a reader sees in the table at `uri`, or the error it gets. */
async function readerSees(uri: string): Promise<{ size?: number; error?: string }> {
  try {
    const index = await LanceIndex.open(uri);
    const size = index.size;
    const rows = (await index.allRows()).ids.length;
    await index.close();
    return { size: rows === size ? size : -1 };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** The versions LanceDB has written of table `cbir` at `uri`. */
function versions(uri: string): number {
  try {
    return readdirSync(join(uri, 'cbir.lance', '_versions')).filter((f) => f.endsWith('.manifest')).length;
  } catch {
    return 0;
  }
}

async function colourFolder(dir: string, colours: Record<string, string>, perClass: number): Promise<string> {
  for (const [c, colour] of Object.entries(colours)) {
    await mkdir(join(dir, c), { recursive: true });
    for (let i = 0; i < perClass; i++)
      await sharp({ create: { width: 30 + i, height: 30, channels: 3, background: colour } })
        .png()
        .toFile(join(dir, c, `${i}.png`));
  }
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cbir-faults-data-'));
});

afterAll(async () => {
  console.log(tally.table('test:faults, the data'));
  if (work) await rm(work, { recursive: true, force: true });
});

describe('cbir index --engine lancedb killed at random moments', () => {
  it('over an existing table (--overwrite): readers see the old table or the new one, whole; a rerun finishes', async () => {
    const small = await npy(join(work, 'small.npy'), 3000, 64, 1);
    const big = await npy(join(work, 'big.npy'), 20000, 64, 2);
    const old = join(work, 'old.lance');
    expect((await cbir(['index', '--features', small, '--engine', 'lancedb', '--uri', old])).code).toBe(0);
    const whole = await cbir(['index', '--features', big, '--engine', 'lancedb', '--uri', join(work, 'w.lance')]);
    expect(whole.code, whole.stderr).toBe(0);
    // Killed at a seeded moment after the build's first new version appears: inside the window where it has begun
    // replacing the table and not finished (the old code lost the rows there).
    const times = killTimes(31, 0, 400);
    for (let k = 0; k < 10; k++) {
      const uri = join(work, `over-${k}.lance`);
      await cp(old, uri, { recursive: true });
      const args = ['index', '--features', big, '--engine', 'lancedb', '--uri', uri, '--overwrite'];
      const t = times.next().value;
      const before = versions(uri);
      await cbir(args, { when: () => versions(uri) > before, after: t });
      const seen = await readerSees(uri);
      tally.count(
        'lancedb index --overwrite: killed',
        seen.size === 3000 || seen.size === 20000 ? 'clear' : 'lost',
        `kill ${Math.round(t)} ms after the first new version: the reader sees ${JSON.stringify(seen)}`,
      );
      const rerun = await cbir(args);
      const after = await readerSees(uri);
      tally.count(
        'lancedb index --overwrite: rerun',
        rerun.code === 0 && after.size === 20000 ? 'clear' : 'lost',
        `kill at ${Math.round(t)} ms, then exit ${rerun.code}, ${JSON.stringify(after)}: ${rerun.stderr.slice(-200)}`,
      );
    }
    expect(tally.problemsOf('lancedb index --overwrite')).toEqual([]);
  }, 600_000);

  it('on a fresh folder: the table is absent, never committed (a clear error) or whole; a rerun without --overwrite finishes', async () => {
    const big = join(work, 'big.npy');
    const whole = await cbir(['index', '--features', big, '--engine', 'lancedb', '--uri', join(work, 'w2.lance')]);
    expect(whole.code, whole.stderr).toBe(0);
    const times = killTimes(37, 0, 400);
    for (let k = 0; k < 10; k++) {
      const uri = join(work, `fresh-${k}.lance`);
      const args = ['index', '--features', big, '--engine', 'lancedb', '--uri', uri];
      const t = times.next().value;
      await cbir(args, { when: () => existsSync(join(uri, 'cbir.lance')), after: t });
      const seen = await readerSees(uri);
      const ok =
        seen.size === 20000 ||
        (seen.error !== undefined && /has no cbir table|was never committed|cannot be read/.test(seen.error));
      tally.count(
        'lancedb index, fresh folder: killed',
        ok ? 'clear' : 'lost',
        `kill ${Math.round(t)} ms after the table appeared: ${JSON.stringify(seen).slice(0, 200)}`,
      );
      const rerun = await cbir(args);
      const after = await readerSees(uri);
      // A table a kill left whole is refused without --overwrite (exit 1, says so); anything less is replaced.
      const finished =
        (rerun.code === 0 && after.size === 20000) ||
        (seen.size === 20000 && rerun.code === 1 && /already has a table/.test(rerun.stderr));
      tally.count(
        'lancedb index, fresh folder: rerun',
        finished ? 'clear' : 'lost',
        `kill at ${Math.round(t)} ms, then exit ${rerun.code}, ${JSON.stringify(after)}: ${rerun.stderr.slice(-200)}`,
      );
    }
    expect(tally.problemsOf('lancedb index, fresh')).toEqual([]);
  }, 600_000);

  it('cbir add killed: readers see the table before or after, whole; a rerun adds the rest', async () => {
    const before = await colourFolder(join(work, 'add-images'), { red: '#d33', green: '#3c4' }, 3);
    const feats = join(work, 'add.cbirfeat');
    expect((await cbir(['features', '--data', before, '--kind', 'colorhist', '--out', feats])).code).toBe(0);
    await colourFolder(before, { blue: '#34d', grey: '#888', yellow: '#dd3' }, 20);
    const base = join(work, 'add-base.lance');
    expect((await cbir(['index', '--features', feats, '--engine', 'lancedb', '--uri', base])).code).toBe(0);
    const probe = join(work, 'add-probe.lance');
    await cp(base, probe, { recursive: true });
    const whole = await cbir(['add', '--engine', 'lancedb', '--uri', probe, '--data', before]);
    expect(whole.code, whole.stderr).toBe(0);
    const times = killTimes(41, 0, whole.ms / 2);
    for (let k = 0; k < 5; k++) {
      const uri = join(work, `add-${k}.lance`);
      await cp(base, uri, { recursive: true });
      const t = times.next().value;
      await cbir(['add', '--engine', 'lancedb', '--uri', uri, '--data', before], t + whole.ms / 2);
      const seen = await readerSees(uri);
      tally.count(
        'lancedb add: killed',
        seen.size === 6 || seen.size === 66 ? 'clear' : 'lost',
        `kill at ${Math.round(t)} ms: ${JSON.stringify(seen)}`,
      );
      const rerun = await cbir(['add', '--engine', 'lancedb', '--uri', uri, '--data', before]);
      const after = await readerSees(uri);
      tally.count(
        'lancedb add: rerun',
        rerun.code === 0 && after.size === 66 ? 'clear' : 'lost',
        `exit ${rerun.code}, ${JSON.stringify(after)}: ${rerun.stderr.slice(-200)}`,
      );
    }
    expect(tally.problemsOf('lancedb add')).toEqual([]);
  }, 600_000);
});

describe('cbir add and remove as a scheduled job would run them', () => {
  it('adding nothing new succeeds, through a link too; ids are never given twice; malformed id lists change nothing', async () => {
    const images = await colourFolder(join(work, 'job'), { red: '#d33', green: '#3c4', blue: '#34d' }, 3);
    const feats = join(work, 'job.cbirfeat');
    expect((await cbir(['features', '--data', images, '--kind', 'colorhist', '--out', feats])).code).toBe(0);
    const link = join(work, 'job-link');
    await symlink(images, link);
    const targets: [string, string[]][] = [];
    for (const type of ['exact', 'cosine', 'lsh', 'hnsw']) {
      const file = join(work, `job-${type}.cbirindex`);
      expect((await cbir(['index', '--features', feats, '--type', type, '--out', file])).code).toBe(0);
      targets.push([type, ['--index', file]]);
    }
    const uri = join(work, 'job.lance');
    expect((await cbir(['index', '--features', feats, '--engine', 'lancedb', '--uri', uri])).code).toBe(0);
    targets.push(['lancedb', ['--engine', 'lancedb', '--uri', uri]]);

    for (const [type, at] of targets) {
      for (const [how, folder] of [
        ['again', images],
        ['again, through a symbolic link', link],
        ['a third time', images],
      ]) {
        const run = await cbir(['add', ...at, '--data', folder, '--json']);
        const done = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
        tally.count(
          'add: nothing new',
          run.code === 0 && done.added === 0 && done.size === 9 ? 'clear' : run.code === 0 ? 'silent' : 'crash',
          `${type}, ${how}: exit ${run.code}, ${run.stdout.trim().slice(-120)} ${run.stderr.slice(-160)}`,
        );
      }
      const fileOf = at[0] === '--index' ? at[1] : undefined;
      const snapshot = fileOf ? await readFile(fileOf) : undefined;
      for (const ids of ['3,', '1,,2', ',', '1, ,2', '-1', '1.5', '0x1', '2;3', '']) {
        const run = await cbir(['remove', ...at, '--ids', ids]);
        const unchanged = snapshot ? Buffer.compare(await readFile(fileOf!), snapshot) === 0 : true;
        const size = await sizeOf(at);
        tally.count(
          'remove: malformed id list',
          run.code === 2 && unchanged && size === 9 ? 'clear' : run.code === 0 ? 'silent' : 'crash',
          `${type}, --ids "${ids}": exit ${run.code}, size ${size}: ${run.stderr.slice(-160)}`,
        );
      }
      // Remove the newest item, add a new image: its id is past every id the index ever held.
      const removed = await cbir(['remove', ...at, '--ids', '8']);
      expect(removed.code, removed.stderr).toBe(0);
      const extra = join(work, `extra-${type}`, 'red');
      await mkdir(extra, { recursive: true });
      await sharp({ create: { width: 33, height: 31, channels: 3, background: '#a5c' } })
        .png()
        .toFile(join(extra, 'new.png'));
      const added = await cbir(['add', ...at, '--data', join(work, `extra-${type}`)]);
      const ids = await idsOf(at);
      tally.count(
        'ids after a remove',
        added.code === 0 && !ids.includes(8) && ids.includes(9) && ids.length === 9 ? 'clear' : 'silent',
        `${type}: exit ${added.code}, ids ${ids.join(',')}: ${added.stderr.slice(-160)}`,
      );
    }
    expect(tally.problemsOf('add').concat(tally.problemsOf('remove'), tally.problemsOf('ids'))).toEqual([]);
  }, 600_000);
});

async function idsOf(at: string[]): Promise<number[]> {
  if (at[0] === '--index') return (await loadIndex(at[1])).idList().sort((a, b) => a - b);
  const index = await LanceIndex.open(at[3]);
  const ids = (await index.idList()).sort((a, b) => a - b);
  await index.close();
  return ids;
}

async function sizeOf(at: string[]): Promise<number> {
  return (await idsOf(at)).length;
}

describe('names that are not UTF-8', () => {
  it('a file and a folder named in Latin-1 are reported by name with the reason; the rest is indexed', async () => {
    const dir = await colourFolder(join(work, 'latin1'), { red: '#d33', green: '#3c4' }, 2);
    const png = await readFile(join(dir, 'red', '0.png'));
    // café.png and déjà/ in Latin-1 bytes: not UTF-8.
    await writeFile(
      Buffer.concat([Buffer.from(join(dir, 'red') + '/caf'), Buffer.from([0xe9]), Buffer.from('.png')]),
      png,
    );
    const folder = Buffer.concat([Buffer.from(dir + '/d'), Buffer.from([0xe9]), Buffer.from('j'), Buffer.from([0xe0])]);
    await mkdir(folder);
    await writeFile(Buffer.concat([folder, Buffer.from('/1.png')]), png);
    const out = join(work, 'latin1.cbirfeat');
    const run = await cbir(['features', '--data', dir, '--kind', 'colorhist', '--out', out, '--json']);
    const done = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    const named =
      /caf\\xe9\.png \(its name is not valid UTF-8/.test(run.stderr) &&
      /d\\xe9j\\xe0 \(its name is not valid UTF-8/.test(run.stderr);
    tally.count(
      'names not UTF-8',
      run.code === 0 && named && existsSync(out) && done.rows === 4 ? 'clear' : 'crash',
      `exit ${run.code}, ${JSON.stringify(done)}: ${run.stderr.slice(-300)}`,
    );
    expect(tally.problemsOf('names')).toEqual([]);
  }, 120_000);
});
