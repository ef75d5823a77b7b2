import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, initNodeBackend } from 'cbir-node';

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

  it('throws BackendUnavailableError listing each backend tried', async () => {
    const attempt = initNodeBackend({ prefer: ['tensorflow', 'gpu' as never] });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initNodeBackend({ prefer: ['tensorflow', 'gpu' as never] })).rejects.toThrow(
      /Tried: tensorflow \(.*\); gpu \(unknown backend/,
    );
  });
});
