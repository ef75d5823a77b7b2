import { createRequire } from 'node:module';
import { BackendUnavailableError, type OpenCv } from 'cbir-core';
import { OPTIONAL } from '../optional.js';

let loading: Promise<OpenCv> | undefined;

/**
 * Loads OpenCV.js (`@techstark/opencv-js`: OpenCV's own wasm build) once and resolves when its runtime is ready.
 * Pass the result to `orbDescriptors`.
 *
 * @throws {@link cbir-core!BackendUnavailableError | BackendUnavailableError} if the package is missing or fails to start.
 * @example
 * ```ts
 * const cv = await loadOpenCv();
 * const descriptors = orbDescriptors(cv, image);
 * ```
 */
export function loadOpenCv(): Promise<OpenCv> {
  loading ??= (async () => {
    try {
      // require, not import: the 10 MB UMD file loads natively (bundlers and vite-node would try to transform it).
      let cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv & {
        onRuntimeInitialized?: () => void;
        then?: unknown;
      };
      if (cv instanceof Promise) cv = await cv;
      else if (typeof cv.Mat !== 'function') await new Promise<void>((resolve) => (cv.onRuntimeInitialized = resolve));
      // Emscripten's module object is thenable (its own `then`), and a promise resolved with it waits forever: drop it.
      delete cv.then;
      return cv;
    } catch (e) {
      loading = undefined;
      const { version, for: what } = OPTIONAL['@techstark/opencv-js'];
      throw new BackendUnavailableError(
        `loadOpenCv: could not load @techstark/opencv-js (${(e as Error).message}). ${what}: it is an optional dependency of cbir-node. Install: npm install @techstark/opencv-js@${version}`,
        { cause: e },
      );
    }
  })();
  return loading;
}
