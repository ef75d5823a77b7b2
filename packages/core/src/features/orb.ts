import { CbirError } from '../errors.js';
import type { RawImage } from '../image/raw-image.js';

/** An OpenCV matrix as OpenCV.js exposes it (the members cbir uses). */
export interface OpenCvMat {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
  /** Frees the matrix's wasm memory (OpenCV.js objects are not garbage-collected). */
  delete(): void;
}

/** OpenCV.js's ORB detector (the members cbir uses). */
export interface OpenCvOrb {
  /** Finds keypoints in `image` (where `mask` is non-zero, or everywhere for an empty mask) and their descriptors. */
  detectAndCompute(image: OpenCvMat, mask: OpenCvMat, keypoints: OpenCvKeyPoints, descriptors: OpenCvMat): void;
  /** Frees the detector. */
  delete(): void;
}

/** OpenCV.js's vector of keypoints (the members cbir uses). */
export interface OpenCvKeyPoints {
  /** The number of keypoints. */
  size(): number;
  /** Keypoint `i`: its position in pixels (x to the right, y down, from the top-left corner). */
  get(i: number): { pt: { x: number; y: number } };
  /** Frees the vector. */
  delete(): void;
}

/**
 * The part of OpenCV.js (`@techstark/opencv-js`, OpenCV's own wasm build) that cbir uses. Core takes the module as an
 * argument and never imports it: cbir-node and cbir-browser load it (`loadOpenCv()`).
 */
export interface OpenCv {
  /** An empty matrix. */
  Mat: new () => OpenCvMat;
  /** A `rows x cols` matrix of OpenCV type `type` holding a copy of `array`. */
  matFromArray(rows: number, cols: number, type: number, array: ArrayLike<number>): OpenCvMat;
  /** An ORB detector keeping at most `nfeatures` keypoints. */
  ORB: new (nfeatures?: number) => OpenCvOrb;
  /** An empty vector of keypoints. */
  KeyPointVector: new () => OpenCvKeyPoints;
  /** Converts `src` to another colour space (`code`, e.g. `COLOR_RGB2GRAY`) into `dst`. */
  cvtColor(src: OpenCvMat, dst: OpenCvMat, code: number): void;
  /** Mirrors `src` into `dst`: around the vertical axis for `code` 1. */
  flip(src: OpenCvMat, dst: OpenCvMat, code: number): void;
  COLOR_RGB2GRAY: number;
  COLOR_RGBA2GRAY: number;
  CV_8UC1: number;
  CV_8UC3: number;
  CV_8UC4: number;
}

/** Options of {@link orbDescriptors}. */
export interface OrbOptions {
  /** Most keypoints kept (OpenCV's `nfeatures`). @defaultValue 500, OpenCV's default and the notebook's */
  nFeatures?: number;
  /** Detect in the image mirrored left to right (positions are then in the mirrored image). @defaultValue false */
  mirror?: boolean;
}

/** Keypoints of an image with their binary descriptors, as {@link orbFeatures} finds them. */
export interface LocalFeatures {
  /** Each keypoint's x and y in pixels, interleaved: `2n` numbers. */
  points: Float32Array;
  /** Each keypoint's 32-byte ORB descriptor, row-major: `32n` bytes. */
  descriptors: Uint8Array;
}

/** ORB descriptors are 32 bytes (256 binary tests). */
export const ORB_DESCRIPTOR_BYTES = 32;

/**
 * ORB descriptors of an image, by OpenCV's own implementation (OpenCV.js): {@link orbFeatures} without the positions.
 *
 * @param cv - The OpenCV.js module (from `loadOpenCv()` in cbir-node or cbir-browser).
 * @returns `n x 32` bytes, row-major (n may be 0 for a flat image).
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const d = orbDescriptors(cv, image);  // Uint8Array, d.length / 32 descriptors
 * ```
 */
export function orbDescriptors(cv: OpenCv, image: RawImage, options: OrbOptions = {}): Uint8Array {
  return orb(cv, image, options, false).descriptors;
}

/**
 * ORB keypoints and binary descriptors of an image, by OpenCV's own implementation (OpenCV.js): the image is converted
 * to grayscale with `cvtColor` (and mirrored with `flip` for `mirror`), then `ORB.detectAndCompute` runs with
 * OpenCV's defaults. Every OpenCV object is freed before returning, also on error.
 *
 * @param cv - The OpenCV.js module (from `loadOpenCv()` in cbir-node or cbir-browser).
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const { points, descriptors } = orbFeatures(cv, image);  // keypoint k at (points[2k], points[2k + 1])
 * ```
 */
export function orbFeatures(cv: OpenCv, image: RawImage, options: OrbOptions = {}): LocalFeatures {
  return orb(cv, image, options, true);
}

function orb(cv: OpenCv, image: RawImage, options: OrbOptions, withPoints: boolean): LocalFeatures {
  const where = withPoints ? 'orbFeatures' : 'orbDescriptors';
  const { data, width, height, channels } = image;
  if (data.length !== width * height * channels || width * height === 0) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `${where}: image data has ${data.length} bytes for ${width}x${height}x${channels}; expected width * height * channels > 0.`,
    );
  }
  const owned: { delete(): void }[] = [];
  const keep = <T extends { delete(): void }>(o: T): T => (owned.push(o), o);
  try {
    const type = channels === 1 ? cv.CV_8UC1 : channels === 4 ? cv.CV_8UC4 : cv.CV_8UC3;
    const src = keep(cv.matFromArray(height, width, type, data));
    let gray = src;
    if (channels !== 1) {
      gray = keep(new cv.Mat());
      cv.cvtColor(src, gray, channels === 4 ? cv.COLOR_RGBA2GRAY : cv.COLOR_RGB2GRAY);
    }
    if (options.mirror) {
      const mirrored = keep(new cv.Mat());
      cv.flip(gray, mirrored, 1);
      gray = mirrored;
    }
    const detector = keep(new cv.ORB(options.nFeatures ?? 500));
    const keypoints = keep(new cv.KeyPointVector());
    const descriptors = keep(new cv.Mat());
    const mask = keep(new cv.Mat());
    detector.detectAndCompute(gray, mask, keypoints, descriptors);
    const n = descriptors.rows;
    const points = new Float32Array(withPoints ? 2 * n : 0);
    for (let k = 0; withPoints && k < n; k++) {
      const { pt } = keypoints.get(k);
      points[2 * k] = pt.x;
      points[2 * k + 1] = pt.y;
    }
    return {
      points,
      descriptors:
        n === 0 ? new Uint8Array(0) : Uint8Array.from(descriptors.data.subarray(0, n * ORB_DESCRIPTOR_BYTES)),
    };
  } finally {
    for (const o of owned.reverse()) o.delete();
  }
}
