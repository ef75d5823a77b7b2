import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  deserializeCheckpoint,
  deserializeFeatures,
  initNodeBackend,
  loadTorchWeights,
} from 'cbir-node';
import { readNpy } from 'cbir-core/io';
import { makeImageFolder } from '../../node/test/helpers.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'node_modules/.bin/vite-node');
const args = (...a: string[]) => [
  '--config',
  join(root, 'vitest.config.ts'),
  join(root, 'packages/cli/src/main.ts'),
  '--',
  ...a,
];
const cbir = (...a: string[]) => run(bin, args(...a), { cwd: root, maxBuffer: 1 << 26 });
const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));

describe('cbir train and cbir embed', () => {
  it('train writes a model, a checkpoint and history; embed writes features for every readable image', async () => {
    const data = await makeImageFolder(6);
    const out = await mkdtemp(join(tmpdir(), 'cbir-train-'));
    const { stdout } = await cbir(
      'train',
      '--data',
      data,
      '--model',
      'v1',
      '--size',
      '32',
      '--epochs',
      '2',
      '--batch',
      '4',
      '--out',
      out,
      '--json',
    );
    const ev = events(stdout);
    expect(ev.filter((e) => e.stage === 'epoch')).toHaveLength(2);
    expect(ev.filter((e) => e.stage === 'warning')).toHaveLength(1); // corrupt.jpg, reported once
    expect(ev.at(-1)).toMatchObject({ stage: 'done', stopped: false, skipped: ['red/corrupt.jpg'] });
    for (const f of ['model.json', 'last.ckpt', 'history.json']) expect(existsSync(join(out, f)), f).toBe(true);
    // One weights file, the one model.json names (earlier saves' are removed).
    const weightsFiles = (await readdir(out)).filter((f) => f.startsWith('weights'));
    expect(weightsFiles).toEqual(JSON.parse(await readFile(join(out, 'model.json'), 'utf8')).weightsManifest[0].paths);
    expect(JSON.parse(await readFile(join(out, 'history.json'), 'utf8'))).toHaveLength(2);

    const feats = join(out, 'features.cbirfeat');
    const npy = join(out, 'features.npy');
    await cbir(
      'embed',
      '--model',
      out,
      '--data',
      data,
      '--out',
      feats,
      '--reduce',
      'avgpool',
      '--l2',
      '--npy',
      npy,
      '--threads',
      '2',
    );
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
    const child = spawn(
      bin,
      args(
        'train',
        '--data',
        data,
        '--arch',
        'v1',
        '--size',
        '32',
        '--epochs',
        '40',
        '--batch',
        '2',
        '--out',
        out,
        '--json',
      ),
      { cwd: root },
    );
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
    const { stdout: resumed } = await cbir(
      'train',
      '--data',
      data,
      '--out',
      out,
      '--epochs',
      '3',
      '--resume',
      '--json',
    );
    const epochs = events(resumed)
      .filter((e) => e.stage === 'epoch')
      .map((e) => e.epoch);
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs.at(-1)).toBe(3); // epoch 3/3, counted from 1 as the text output counts
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

describe("cbir and the notebook's PyTorch checkpoints", () => {
  const notebookV1 = join(root, 'packages/core/test/fixtures/checkpoints/v1-checkpoint.pt');

  it('embed and search take a .pt file with --arch and --size; a file of another network fails with the mismatch', async () => {
    const data = await makeImageFolder(3);
    const out = await mkdtemp(join(tmpdir(), 'cbir-pt-'));
    const feats = join(out, 'f.cbirfeat');
    await cbir(
      'embed',
      '--model',
      notebookV1,
      '--arch',
      'v1',
      '--size',
      '68',
      '--data',
      data,
      '--out',
      feats,
      '--threads',
      '1',
    );
    const f = deserializeFeatures(new Uint8Array(await readFile(feats)));
    expect([f.matrix.rows, f.matrix.cols]).toEqual([9, 8 * 5 * 5]); // V1's latent at 68 px: 8 x 5 x 5
    expect(f.metadata).toMatchObject({ architecture: 'ConvAutoencoder', inputSize: 68 });
    const idx = join(out, 'exact.cbirindex');
    await cbir('index', '--features', feats, '--type', 'exact', '--out', idx);
    const query = f.paths![4];
    const { stdout } = await cbir(
      'search',
      '--index',
      idx,
      '--query',
      query,
      '--model',
      notebookV1,
      '--arch',
      'v1',
      '--size',
      '68',
      '-k',
      '3',
      '--json',
    );
    const hits = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{'))!).results;
    expect(hits[0]).toMatchObject({ id: 4, path: query });
    expect(hits[0].distance).toBeLessThan(1e-3);
    const e = await cbir('embed', '--model', notebookV1, '--size', '64', '--data', data, '--out', feats).catch(
      (x) => x,
    );
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/does not match ConvAutoencoderV2 .*missing key "encoder\.2\.weight"/);
    const bad = await cbir('embed', '--model', notebookV1, '--arch', 'v3', '--data', data, '--out', feats).catch(
      (x) => x,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--arch must be v1 \(ConvAutoencoder\) or v2/);
  });

  it("train --init continues the notebook's Adam; export writes it back for PyTorch, optimizer included", async () => {
    const data = await makeImageFolder(4);
    const out = await mkdtemp(join(tmpdir(), 'cbir-init-'));
    const { stdout } = await cbir(
      'train',
      '--data',
      data,
      '--arch',
      'v1',
      '--size',
      '68',
      '--epochs',
      '1',
      '--batch',
      '4',
      '--init',
      notebookV1,
      '--out',
      out,
      '--json',
    );
    expect(events(stdout).find((e) => e.stage === 'init')).toMatchObject({
      format: 'torch-checkpoint',
      epoch: 150,
      adamStep: 4,
      problems: [],
    });
    const ckpt = deserializeCheckpoint(new Uint8Array(await readFile(join(out, 'last.ckpt'))));
    const batches = Math.ceil(ckpt.split.train.filter((i) => !ckpt.skipped.includes(i)).length / 4);
    expect(ckpt.adam.step).toBe(4 + batches);

    const pt = join(out, 'model.pt');
    await cbir('export', '--model', out, '--out', pt);
    await initNodeBackend({ prefer: ['cpu'] });
    const ae = new ConvAutoencoder({ inputSize: 68 });
    const info = loadTorchWeights(ae, new Uint8Array(await readFile(pt)));
    expect(info).toMatchObject({ format: 'torch-checkpoint', epoch: 1, problems: [] });
    expect(info.loss).toBe(ckpt.history[0].valLoss);
    expect(info.optimizer!.state.step).toBe(ckpt.adam.step);
    expect(Array.from(info.optimizer!.state.m[0])).toEqual(Array.from(ckpt.adam.m[0]));
    const w = ae.model.trainableWeights.map((v) => Array.from(v.read().dataSync()));
    expect(w).toEqual(ckpt.params.map((p) => Array.from(p.data)));
    ae.dispose();
    const both = await cbir('train', '--data', data, '--init', notebookV1, '--resume', '--out', out).catch((x) => x);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--init and --resume exclude each other/);
  });
});
