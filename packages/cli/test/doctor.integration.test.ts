import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cbir } from './helpers.js';

describe('cbir doctor', () => {
  it('prints the backend, why tensorflow was skipped, the WebGPU adapter or why none, tfjs wasm SIMD and threads, and cbir kernels threads', async () => {
    const { stdout } = await cbir('doctor');
    expect(stdout).toMatch(/tfjs 4\.22\.0/);
    expect(stdout).toMatch(/backend: wasm/);
    expect(stdout).toMatch(/skipped tensorflow: @tensorflow\/tfjs-node-gpu/);
    expect(stdout).toMatch(/tfjs wasm: SIMD true, threads false/);
    expect(stdout).toContain(`cbir SIMD kernels: on ${availableParallelism()} thread`);
    const json = JSON.parse(
      (await cbir('doctor', '--json')).stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)!,
    );
    expect(json).toMatchObject({ backend: 'wasm', wasmSimd: true, simdThreads: availableParallelism() });
    // The GPU WebGPU sees, or why none: the webgpu suite (pnpm test:gpu) checks an adapter's line on lavapipe.
    expect(stdout).toMatch(/^webgpu adapter: (none \(.+\)|.+; largest tensor \d+ MiB)$/m);
    expect(typeof (json.webgpu.reason ?? json.webgpu.adapter?.description)).toBe('string');
  });
});
