import { readNpz } from 'cbir-core/io';
import { describe, expect, it } from 'vitest';
import { colorGrid, colorMoments, hog, lbp } from '../../src/features/hand-crafted.js';
import { resizeArea, resizeShortSide, toGray, toLab } from '../../src/image/image-ops.js';
import type { RawImage } from '../../src/image/raw-image.js';
import { fixtureBytes } from '../helpers/fixtures.js';

// OpenCV 4.6's outputs on two test cards; scripts/fixtures/make_hand_feature_fixtures.py made them.
const f = readNpz(fixtureBytes('hand-features/hand.npz'));
const u8 = (name: string) => f.get(name)!.data as Uint8Array;
const f32 = (name: string) => f.get(name)!.data as Float32Array;
const image = (name: string): RawImage => {
  const a = f.get(name)!;
  return { data: a.data as Uint8Array, height: a.shape[0], width: a.shape[1], channels: 3 };
};
const a = image('img_a');
const b = image('img_b');

/** The largest absolute difference and how many bytes differ. */
function diff(x: ArrayLike<number>, y: ArrayLike<number>) {
  expect(x.length).toBe(y.length);
  let max = 0;
  let count = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (d > 0) count++;
    max = Math.max(max, d);
  }
  return { max, count };
}

describe('pixel operations against OpenCV', () => {
  it('grey equals cv2 COLOR_BGR2GRAY bit for bit', () => {
    expect(diff(toGray(a).data, u8('gray_a'))).toEqual({ max: 0, count: 0 });
  });

  it('Lab equals cv2 COLOR_BGR2Lab bit for bit (its fixed-point tables)', () => {
    expect(diff(toLab(a), u8('lab_a'))).toEqual({ max: 0, count: 0 });
  });

  it('INTER_AREA halving equals OpenCV bit for bit (its fast 2x2 path)', () => {
    const g = toGray(a);
    expect(diff(resizeArea(g, 95, 60).data, u8('half_a'))).toEqual({ max: 0, count: 0 });
  });

  it('INTER_AREA fractional shrinking is within one level of OpenCV', () => {
    const d = diff(resizeArea(a, 84, 53).data, u8('down_a'));
    expect(d.max).toBeLessThanOrEqual(1);
    expect(d.count).toBeLessThan(u8('down_a').length * 0.01);
  });

  it('the short side to 256 (an enlargement) and the centre crop match OpenCV within one level', () => {
    const up = resizeShortSide(a, 256, false);
    expect([up.width, up.height]).toEqual([405, 256]);
    expect(diff(up.data, u8('area_a')).max).toBeLessThanOrEqual(1);
    const crop = resizeShortSide(b, 256, true);
    expect([crop.width, crop.height]).toEqual([256, 256]);
    expect(diff(crop.data, u8('crop_b')).max).toBeLessThanOrEqual(1);
  });
});

describe('the study blocks against their Python + OpenCV definitions', () => {
  for (const [name, img] of [
    ['a', a],
    ['b', b],
  ] as const) {
    it(`colour grid (HSV 16x4x4, whole + 2x2, uncropped) of card ${name} equals the reference`, () => {
      const v = colorGrid(img);
      expect(v.length).toBe(1280);
      expect(diff(v, f32(`grid_${name}`)).max).toBeLessThan(1e-6);
    });

    // The reference computes these on OpenCV's crop; here on the same pixels, so only the features are compared.
    const crop = (): RawImage => ({
      data: u8(name === 'a' ? 'area_a' : 'crop_b'),
      width: name === 'a' ? 405 : 256,
      height: 256,
      channels: 3,
    });
    const square = () => (name === 'a' ? centre(crop()) : crop());

    it(`uniform LBP (radii 1, 2, 4, whole + 2x2) of card ${name} equals the reference`, () => {
      const v = lbp(square());
      expect(v.length).toBe(885);
      expect(diff(v, f32(`lbp_${name}`)).max).toBeLessThan(1e-6);
    });

    it(`colour moments (Lab, whole + 3x3) of card ${name} are within 1e-5 of the reference`, () => {
      const v = colorMoments(square());
      expect(v.length).toBe(90);
      expect(diff(v, f32(`cmom_${name}`)).max).toBeLessThan(1e-5);
    });

    it(`HOG (128 px grey, OpenCV's descriptor) of card ${name} is within 5e-4 of cv2.HOGDescriptor (float32 sums in another order)`, () => {
      const v = hog(square());
      expect(v.length).toBe(1764);
      expect(diff(v, f32(`hog_${name}`)).max).toBeLessThan(5e-4);
    });
  }
});

function centre(img: RawImage): RawImage {
  const x0 = Math.floor((img.width - 256) / 2);
  const out = new Uint8Array(256 * 256 * 3);
  for (let y = 0; y < 256; y++)
    out.set(img.data.subarray((y * img.width + x0) * 3, (y * img.width + x0 + 256) * 3), y * 256 * 3);
  return { data: out, width: 256, height: 256, channels: 3 };
}
