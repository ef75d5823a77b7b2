// cbir's WGSL kernels for tfjs's webgpu backend against a float64 oracle, on the adapter `pnpm test:gpu` provides.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, initNodeBackend, releaseWebGpu } from 'cbir-node';
import { filterGradSplits } from '../../core/src/tfjs-kernels/webgpu/register-webgpu-kernels.js';

const ready = await initNodeBackend({ prefer: ['webgpu'] }).catch((e: Error) => {
  if (process.env.CBIR_REQUIRE_WEBGPU === '1') throw e;
  console.warn(`skipping the webgpu kernels: ${e.message}`);
  return undefined;
});
afterAll(() => releaseWebGpu());

/** dW in float64, from NHWC `x` and `dy` and explicit padding (top, left). */
function oracle(
  x: Float32Array,
  [n, h, w, ci]: number[],
  dy: Float32Array,
  [, oh, ow, co]: number[],
  [kh, kw]: number[],
  stride: number,
  [top, left]: number[],
): Float64Array {
  const out = new Float64Array(kh * kw * ci * co);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let m = 0; m < n; m++)
            for (let r = 0; r < oh; r++) {
              const xr = r * stride + a - top;
              if (xr < 0 || xr >= h) continue;
              for (let c = 0; c < ow; c++) {
                const xc = c * stride + b - left;
                if (xc < 0 || xc >= w) continue;
                s += x[((m * h + xr) * w + xc) * ci + i] * dy[((m * oh + r) * ow + c) * co + o];
              }
            }
          out[((a * kw + b) * ci + i) * co + o] = s;
        }
  return out;
}

describe.skipIf(!ready)("Conv2DBackpropFilter on webgpu (cbir's split sums)", () => {
  it.each([
    // [x shape, filter [kh, kw, co], stride, pad]: V2's first layer in small, strides, valid and explicit padding,
    // a 4x4 filter (V2's last transposed convolution), rows that do not split evenly, and one split (>= 2^18 weights).
    [[2, 9, 11, 3], [3, 3, 5], 1, 'same'],
    [[2, 10, 10, 4], [3, 3, 6], 2, 'same'],
    [[3, 7, 9, 2], [3, 3, 4], 1, 'valid'],
    [
      [1, 12, 12, 3],
      [4, 4, 3],
      2,
      [
        [0, 0],
        [2, 2],
        [2, 2],
        [0, 0],
      ],
    ],
    [[1, 4, 4, 128], [3, 3, 256], 1, 'same'],
  ] as const)(
    'x %j, filter %j, stride %i, pad %j: within 1e-5 of float64',
    async (xShape, [kh, kw, co], stride, pad) => {
      const before = tf.memory().numTensors;
      const rng = new Rng(7);
      const x = tf.tensor4d(
        Float32Array.from({ length: xShape.reduce((a: number, b: number) => a * b, 1) }, () => rng.normal()),
        [...xShape] as [number, number, number, number],
      );
      const ci = xShape[3];
      const info = tf.backend_util.computeConv2DInfo(
        [...xShape] as [number, number, number, number],
        [kh, kw, ci, co],
        stride,
        1,
        pad as 'same',
      );
      const dyShape = [xShape[0], info.outHeight, info.outWidth, co];
      const dy = tf.tensor4d(
        Float32Array.from({ length: dyShape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        dyShape as [number, number, number, number],
      );
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
        strides: [stride, stride],
        pad,
        dataFormat: 'NHWC',
        filterShape: [kh, kw, ci, co],
      } as never) as tf.Tensor;
      expect(dw.shape).toEqual([kh, kw, ci, co]);
      const got = await dw.data();
      const want = oracle(
        (await x.data()) as Float32Array,
        [...xShape],
        (await dy.data()) as Float32Array,
        dyShape,
        [kh, kw],
        stride,
        [info.padInfo.top, info.padInfo.left],
      );
      let scale = 0;
      let err = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        err = Math.max(err, Math.abs(got[i] - want[i]));
      }
      expect(err / scale).toBeLessThan(1e-5);
      tf.dispose([x, dy, dw]);
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it('splits the sum so that a large GPU is full, and never into more parts than rows', () => {
    expect(filterGradSplits(1728, 32 * 512)).toBe(152); // V2's first layer at 512 px, batch 32
    expect(filterGradSplits(1728, 100)).toBe(100);
    expect(filterGradSplits(256 * 256 * 9, 32 * 16)).toBe(1);
  });
});
