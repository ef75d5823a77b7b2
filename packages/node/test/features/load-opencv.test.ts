import { loadOpenCv, orbDescriptors, orbFeatures, type OpenCv, type RawImage } from 'cbir-node';
import { beforeAll, describe, expect, it } from 'vitest';

/** A textured image (a checkerboard of random grey levels): plenty of corners for ORB. */
function textured(seed: number, size = 256): RawImage {
  let s = seed * 2654435761;
  const cells = Array.from({ length: 64 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24) & 255);
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const v = cells[Math.floor(y / (size / 8)) * 8 + Math.floor(x / (size / 8))];
      data.set([v, 255 - v, (v * 3) & 255], (y * size + x) * 3);
    }
  return { data, width: size, height: size, channels: 3 };
}

describe('ORB through OpenCV.js', () => {
  let cv: OpenCv;
  beforeAll(async () => {
    cv = await loadOpenCv();
  });

  it('finds keypoints with 32-byte descriptors, deterministically, and none on a flat image', () => {
    const a = orbDescriptors(cv, textured(1));
    expect(a.length % 32).toBe(0);
    expect(a.length / 32).toBeGreaterThan(20);
    expect(orbDescriptors(cv, textured(1))).toEqual(a);
    expect(orbDescriptors(cv, textured(1), { nFeatures: 10 }).length / 32).toBeLessThanOrEqual(10);
    const flat = { data: new Uint8Array(64 * 64 * 3).fill(128), width: 64, height: 64, channels: 3 as const };
    expect(orbDescriptors(cv, flat).length).toBe(0);
    const gray = {
      data: textured(2).data.filter((_, i) => i % 3 === 0),
      width: 256,
      height: 256,
      channels: 1 as const,
    };
    expect(orbDescriptors(cv, gray).length).toBeGreaterThan(0);
  });

  it('gives each descriptor its keypoint, in the image; mirror detects in the image mirrored left to right', () => {
    const image = textured(3, 200);
    const { points, descriptors } = orbFeatures(cv, image);
    expect(descriptors).toEqual(orbDescriptors(cv, image));
    expect(points.length).toBe((descriptors.length / 32) * 2);
    for (let k = 0; k < points.length; k += 2) {
      expect(points[k]).toBeGreaterThanOrEqual(0);
      expect(points[k]).toBeLessThan(200);
      expect(points[k + 1]).toBeGreaterThanOrEqual(0);
      expect(points[k + 1]).toBeLessThan(200);
    }
    const mirrored = new Uint8Array(image.data.length);
    for (let y = 0; y < 200; y++)
      for (let x = 0; x < 200; x++)
        mirrored.set(image.data.subarray((y * 200 + x) * 3, (y * 200 + x) * 3 + 3), (y * 200 + 199 - x) * 3);
    const viaOption = orbFeatures(cv, image, { mirror: true });
    expect(viaOption).toEqual(orbFeatures(cv, { ...image, data: mirrored }));
    expect(viaOption.descriptors).not.toEqual(descriptors);
  });

  it('frees every OpenCV object: the wasm heap does not grow over 500 images', () => {
    // Where malloc places a fresh 1 MB block: it moves up when anything allocated in between was not freed (checked:
    // ten leaked 256x256 Mats move it by 2 MB), and stays put when everything was.
    const m = cv as unknown as { _malloc(n: number): number; _free(p: number): void };
    const probe = () => {
      const p = m._malloc(1 << 20);
      m._free(p);
      return p;
    };
    for (let i = 0; i < 20; i++) orbDescriptors(cv, textured(i, 128));
    const before = probe();
    for (let i = 0; i < 500; i++) orbDescriptors(cv, textured(i, 128));
    expect(probe()).toBe(before);
  });

  it('rejects an image whose data does not match its size', () => {
    expect(() => orbDescriptors(cv, { data: new Uint8Array(10), width: 4, height: 4, channels: 3 })).toThrow(
      /expected width \* height \* channels/,
    );
  });
});
