import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { deserializeFeatures, readNpy } from 'cbir-node';
import { makeImageFolder } from '../helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = join(root, 'node_modules/.bin/vite-node');
const args = (...a: string[]) => ['--config', join(root, 'vitest.config.ts'), join(root, 'packages/node/src/cli/main.ts'), '--', ...a];
const cbir = (...a: string[]) => run(bin, args(...a), { cwd: root, maxBuffer: 1 << 26 });
const events = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('cbir train and cbir embed', () => {
  it('train writes a model, a checkpoint and history; embed writes features for every readable image', async () => {
    const data = await makeImageFolder(6);
    const out = await mkdtemp(join(tmpdir(), 'cbir-train-'));
    const { stdout } = await cbir('train', '--data', data, '--model', 'v1', '--size', '32', '--epochs', '2', '--batch', '4', '--out', out, '--json');
    const ev = events(stdout);
    expect(ev.filter((e) => e.stage === 'epoch')).toHaveLength(2);
    expect(ev.filter((e) => e.stage === 'warning')).toHaveLength(1); // corrupt.jpg, reported once
    expect(ev.at(-1)).toMatchObject({ stage: 'done', stopped: false, skipped: ['red/corrupt.jpg'] });
    for (const f of ['model.json', 'weights.bin', 'last.ckpt', 'history.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(await readFile(join(out, 'history.json'), 'utf8'))).toHaveLength(2);

    const feats = join(out, 'features.cbirfeat');
    const npy = join(out, 'features.npy');
    await cbir('embed', '--model', out, '--data', data, '--out', feats, '--reduce', 'avgpool', '--l2', '--npy', npy, '--threads', '2');
    const f = deserializeFeatures(new Uint8Array(await readFile(feats)));
    expect(f.matrix.rows).toBe(18);
    expect(f.matrix.cols).toBe(8); // avgpool: the latent's channels
    expect(new Set(f.labels)).toEqual(new Set(['red', 'green', 'blue']));
    expect(f.ids).not.toContain('red/corrupt.jpg');
    expect(f.paths![0]).toBe(join(data, f.ids[0]));
    const a = readNpy(new Uint8Array(await readFile(npy)));
    expect(a.shape).toEqual([18, 8]);
    expect(Array.from(a.data)).toEqual(Array.from(f.matrix.data));
    const norm = Math.hypot(...f.matrix.data.subarray(0, 8));
    expect(norm).toBeCloseTo(1, 5);
  });

  it('Ctrl-C stops at a batch with a checkpoint (exit 130); --resume finishes the run', async () => {
    const data = await makeImageFolder(8);
    const out = await mkdtemp(join(tmpdir(), 'cbir-train-'));
    const child = spawn(bin, args('train', '--data', data, '--size', '32', '--epochs', '40', '--batch', '2', '--out', out, '--json'), { cwd: root });
    let stdout = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"stage":"epoch"') && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(events(stdout).at(-1)).toMatchObject({ stage: 'done', stopped: true });
    const { stdout: resumed } = await cbir('train', '--data', data, '--out', out, '--epochs', '3', '--resume', '--json');
    const epochs = events(resumed).filter((e) => e.stage === 'epoch').map((e) => e.epoch);
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs.at(-1)).toBe(2);
    expect(events(resumed).at(-1)).toMatchObject({ stage: 'done', stopped: false });
  });

  it('exits 1 with a clear message for a missing --resume checkpoint, 2 for a bad flag', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-train-'));
    const e1 = await cbir('train', '--data', out, '--out', out, '--resume').catch((e) => e);
    expect(e1.code).toBe(1);
    expect(e1.stderr).toMatch(/no checkpoint at/);
    const e2 = await cbir('train', '--nope').catch((e) => e);
    expect(e2.code).toBe(2);
  });
});
