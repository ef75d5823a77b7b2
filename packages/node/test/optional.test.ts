import { BackendUnavailableError } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { importOptional } from '../src/optional.js';

describe('optional dependencies', () => {
  it('a missing one is a BackendUnavailableError naming what needs it and the command that installs it', async () => {
    const notFound = Object.assign(new Error("Cannot find package '@techstark/opencv-js' imported from /app/x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const e = await importOptional(['@techstark/opencv-js'], () => Promise.reject(notFound)).catch((x) => x);
    expect(e).toBeInstanceOf(BackendUnavailableError);
    expect(e.message).toBe(
      'ORB features (cbir bow, cbir features --kind bow; loadOpenCv): @techstark/opencv-js is an optional dependency of cbir-node, not installed. Install: npm install @techstark/opencv-js@4.12.0-release.1',
    );
    expect(e.cause).toBe(notFound);
  });

  it('any other failure is passed on as it is; an installed one loads', async () => {
    const inner = Object.assign(new Error("Cannot find module './chunk.js' imported from @tensorflow/tfjs-converter"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await expect(importOptional(['@tensorflow/tfjs-converter'], () => Promise.reject(inner))).rejects.toBe(inner);
    const tfconv = await importOptional(['@tensorflow/tfjs-converter'], () => import('@tensorflow/tfjs-converter'));
    expect(typeof tfconv.loadGraphModel).toBe('function');
  });
});
