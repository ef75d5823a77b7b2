import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'packages/cli/src/main.ts');
const weights = join(root, 'packages/core/test/fixtures/models/v1-checkpoint.pth');
// The CLI runs from source through vite-node, so this test needs no build.
const cbir = (...args: string[]) =>
  run(join(root, 'node_modules/.bin/vite-node'), ['--config', join(root, 'vitest.config.ts'), cli, ...args], {
    cwd: root,
  });

describe('cbir demo', () => {
  it('prints the summary, loads the PyTorch checkpoint and writes both images', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cbir-demo-'));
    const { stdout } = await cbir('demo', '--', '--weights', weights, '--out', out);
    expect(stdout).toMatch(/backend: wasm/);
    expect(stdout).toMatch(/Total params: 6,851/);
    expect(stdout).toMatch(/loaded 10 tensors .*torch-checkpoint, epoch 7/);
    const mse = Number(/MSE ([\d.]+)/.exec(stdout)![1]);
    expect(mse).toBeGreaterThan(0);
    expect(mse).toBeLessThan(4); // pixels in [-1, 1]: the squared error is at most 4
    for (const f of ['input.png', 'reconstruction.png']) {
      const meta = await sharp(join(out, f)).metadata();
      expect([meta.width, meta.height, meta.channels]).toEqual([128, 128, 3]);
    }
  });

  it('exits 1 with the valid sizes for a bad --size', async () => {
    const error = await cbir('demo', '--', '--size', '100').catch((e) => e);
    expect(error.code).toBe(1);
    expect(error.stderr).toMatch(/Nearest valid sizes: 92 and 104/);
  });

  it('exits 2 on an unknown command', async () => {
    const error = await cbir('nope').catch((e) => e);
    expect(error.code).toBe(2);
    expect(error.stderr).toMatch(/unknown command "nope"/);
  });
});
