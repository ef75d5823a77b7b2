import { colorHistogram, colorHistogramDim } from 'cbir-core';
import { readNpz } from 'cbir-core/io';
import { describe, expect, it } from 'vitest';
import { rgbToHsvOpenCv } from '../../src/features/color-histogram.js';
import { fixtureBytes } from '../helpers/fixtures.js';

const f = readNpz(fixtureBytes('features/hsv.npz'));
const rgb = f.get('rgb')!.data as Uint8Array;

describe('colorHistogram against OpenCV 4.6', () => {
  it('converts RGB to HSV exactly as cv2.cvtColor(COLOR_RGB2HSV) on every pixel', () => {
    const hsv = f.get('hsv')!.data as Uint8Array;
    const out = [0, 0, 0];
    const bad: string[] = [];
    for (let p = 0; p < rgb.length / 3; p++) {
      rgbToHsvOpenCv(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], out);
      if (out[0] !== hsv[3 * p] || out[1] !== hsv[3 * p + 1] || out[2] !== hsv[3 * p + 2])
        bad.push(`${rgb.subarray(3 * p, 3 * p + 3)} -> ${out} (cv2 ${hsv.subarray(3 * p, 3 * p + 3)})`);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('counts the joint 8x12x3 HSV histogram as cv2.calcHist does', () => {
    const image = { data: rgb, width: 64, height: 64, channels: 3 as const };
    const counts = colorHistogram(image, { normalize: 'none' });
    expect(Array.from(counts)).toEqual(Array.from(f.get('hist')!.data));
    expect(colorHistogramDim()).toBe(288);
  });
});

describe('colorHistogram options', () => {
  const image = {
    data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 0, 0]),
    width: 2,
    height: 2,
    channels: 3 as const,
  };
  it('per-channel RGB histograms, each summing to 1', () => {
    const v = colorHistogram(image, { space: 'rgb', bins: 2, joint: false });
    // R: 255, 0, 0, 255 -> [0.5, 0.5]; G: 0, 255, 0, 0 -> [0.75, 0.25]; B: 0, 0, 255, 0 -> [0.75, 0.25]
    expect(Array.from(v)).toEqual([0.5, 0.5, 0.75, 0.25, 0.75, 0.25]);
    expect(colorHistogramDim({ space: 'rgb', bins: 2, joint: false })).toBe(6);
  });
  it('l2 gives a unit vector, and grayscale counts as R = G = B', () => {
    const v = colorHistogram(image, { space: 'rgb', bins: 4, normalize: 'l2' });
    expect(v.reduce((a, x) => a + x * x, 0)).toBeCloseTo(1, 6);
    const g = colorHistogram(
      { data: Uint8Array.from([0, 255]), width: 2, height: 1, channels: 1 },
      { space: 'rgb', bins: 2 },
    );
    expect(g[0]).toBe(0.5);
    expect(g[7]).toBe(0.5);
  });
  it('rejects bad bins and bad images', () => {
    expect(() => colorHistogram(image, { bins: 0 })).toThrow(/bins must be an integer from 1 to 256/);
    expect(() => colorHistogramDim({ space: 'lab' as 'hsv' })).toThrow(/space must be 'hsv' or 'rgb', got "lab"/);
    expect(() => colorHistogram(image, { normalize: 'max' as 'l1' })).toThrow(/normalize must be 'l1', 'l2' or 'none'/);
    expect(() => colorHistogram({ ...image, width: 3 })).toThrow(/expected width \* height \* channels/);
  });
});
