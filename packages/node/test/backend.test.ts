import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, initNodeBackend } from 'cbir-node';
import { autoWebGpuSkip } from '../src/backend.js';

describe('initNodeBackend', () => {
  it('falls back to wasm when tfjs-node is not installed, and says why tensorflow was skipped', async () => {
    const choice = await initNodeBackend();
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped).toHaveLength(1);
    expect(choice.skipped[0].name).toBe('tensorflow');
    expect(choice.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node-gpu.*@tensorflow\/tfjs-node/);
    // Node 20 has WebAssembly SIMD: cbir's kernels run on one thread per core by default.
    expect(choice.simdThreads).toBe(availableParallelism());
    expect((await initNodeBackend({ threads: 1 })).simdThreads).toBe(1);
    await initNodeBackend();
  });

  it('honours prefer', async () => {
    expect((await initNodeBackend({ prefer: ['cpu'] })).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('reads CBIR_BACKEND (comma-separated, checked) when prefer is not given, and gives the memory a step may take', async () => {
    const saved = process.env.CBIR_BACKEND;
    try {
      process.env.CBIR_BACKEND = 'cpu';
      const cpu = await initNodeBackend();
      expect(cpu.name).toBe('cpu');
      expect(cpu.memory).toEqual({ budgetBytes: 4 * 2 ** 30 });
      process.env.CBIR_BACKEND = 'wasm, gpu';
      await expect(initNodeBackend()).rejects.toThrow(
        /CBIR_BACKEND=wasm, gpu: unknown backend "gpu"; valid: tensorflow, webgpu, wasm, cpu/,
      );
      process.env.CBIR_BACKEND = 'wasm';
      // The wasm heap holds 4 GiB at most: 3 GiB of the estimate, V2 at 512 px three images at a time.
      expect((await initNodeBackend()).memory).toEqual({ budgetBytes: 3 * 2 ** 30 });
    } finally {
      process.env.CBIR_BACKEND = saved;
      await initNodeBackend();
    }
  });

  it('throws BackendUnavailableError listing each backend tried', async () => {
    const attempt = initNodeBackend({ prefer: ['tensorflow', 'gpu' as never] });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initNodeBackend({ prefer: ['tensorflow', 'gpu' as never] })).rejects.toThrow(
      /Tried: tensorflow \(.*\); gpu \(unknown backend/,
    );
  });

  it('passes over webgpu in the automatic order on Linux without a GPU device node, never when asked for it', async () => {
    const none = () => false;
    expect(autoWebGpuSkip('linux', none, {})).toMatch(/^no GPU device node \(\/dev\/dri, .*name webgpu/);
    expect(autoWebGpuSkip('linux', (p) => p === '/dev/dri', {})).toBeUndefined();
    expect(autoWebGpuSkip('linux', (p) => p === '/dev/nvidia0', {})).toBeUndefined();
    expect(autoWebGpuSkip('darwin', none, {})).toBeUndefined();
    expect(autoWebGpuSkip('linux', none, { CBIR_ALLOW_SOFTWARE_GPU: '1' })).toBeUndefined();
    // The automatic order on this machine, where it has no GPU device node (a machine with one would start Dawn).
    const why = autoWebGpuSkip();
    if (!why) return;
    const saved = process.env.CBIR_BACKEND;
    try {
      delete process.env.CBIR_BACKEND;
      const choice = await initNodeBackend();
      expect(choice.name).toBe('wasm');
      expect(choice.skipped.find((s) => s.name === 'webgpu')?.reason).toBe(why);
    } finally {
      process.env.CBIR_BACKEND = saved;
      await initNodeBackend();
    }
  });
});
