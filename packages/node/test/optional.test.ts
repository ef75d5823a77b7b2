import { BackendUnavailableError } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { importOptional } from '../src/optional.js';
import { loadVega } from '../src/plots/write-plot.js';

describe('optional dependencies', () => {
  it('a missing one is a BackendUnavailableError naming what needs it and the command that installs it', async () => {
    const notFound = Object.assign(new Error("Cannot find package 'vega-lite' imported from /app/x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const e = await importOptional(['vega', 'vega-lite'], () => Promise.reject(notFound)).catch((x) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect(e.message).toBe(
      'plots (cbir cluster, bow, quickstart; writePlot): vega-lite is an optional dependency of cbir-node, not installed. Install: npm install vega@6.2.0 vega-lite@6.4.1',
    );
    expect(e.cause).toBe(notFound);
  });

  it('any other failure is passed on as it is; an installed one loads', async () => {
    const inner = Object.assign(new Error("Cannot find module './chunk.js' imported from vega"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await expect(importOptional(['@tensorflow/tfjs-converter'], () => Promise.reject(inner))).rejects.toBe(inner);
    const [vega, vl] = await loadVega();
    expect(typeof vega.View).toBe('function');
    expect(typeof vl.compile).toBe('function');
  });
});
