import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CbirError, FormatError, type TfjsModel } from 'cbir-core';
import { importOptional } from '../optional.js';

/** The most weight bytes a model.json may ask for (4 GiB): a manifest cannot make the loader allocate more. */
const MAX_WEIGHT_BYTES = 2 ** 32;

/**
 * Loads a tfjs model (a layers model or a graph model, as the tfjs converter writes them) from a folder, a
 * `model.json` path or an http(s) URL, for `PretrainedExtractor`. Local weight files must sit in the model's folder
 * (a manifest that names a path outside it is refused) and their sizes must match the manifest.
 *
 * @throws {@link cbir-core!CbirError | CbirError} naming the source when it cannot be read or is not a tfjs model.
 * @example
 * ```ts
 * const model = await loadTfjsModel('models/mobilenet_v2');          // folder with model.json
 * const fx = await PretrainedExtractor.create(model, { inputSize: 224, scaling: 'symmetric' });
 * ```
 */
export async function loadTfjsModel(source: string): Promise<TfjsModel> {
  const tfconv = await importOptional(['@tensorflow/tfjs-converter'], () => import('@tensorflow/tfjs-converter'));
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source).catch((cause: Error) => {
      throw new CbirError('INVALID_ARGUMENT', `loadTfjsModel: cannot fetch ${source}: ${cause.message}`, { cause });
    });
    if (!res.ok)
      throw new CbirError('INVALID_ARGUMENT', `loadTfjsModel: ${source} answered ${res.status} ${res.statusText}.`);
    const json = (await res.json()) as { format?: string };
    return (
      json.format === 'graph-model' ? tfconv.loadGraphModel(source) : tfl.loadLayersModel(source)
    ) as Promise<TfjsModel>;
  }
  const abs = resolve(source);
  const info = await stat(abs).catch((cause: Error) => {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `loadTfjsModel: cannot read ${abs}: ${cause.message}. Give a folder with a model.json, a model.json, or an http(s) URL.`,
      { cause },
    );
  });
  const jsonPath = info.isDirectory() ? join(abs, 'model.json') : abs;
  const dir = dirname(jsonPath);
  let json: {
    format?: string;
    modelTopology?: unknown;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    [key: string]: unknown;
  };
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (cause) {
    throw new FormatError(`loadTfjsModel: ${jsonPath} is not a readable model.json (${(cause as Error).message}).`, {
      cause,
    });
  }
  if (!json?.modelTopology || !Array.isArray(json.weightsManifest))
    throw new FormatError(
      `loadTfjsModel: ${jsonPath} has no modelTopology or weightsManifest; it is not a tfjs model.json.`,
    );
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  let total = 0;
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const full = resolve(dir, path);
      if (isAbsolute(path) || relative(dir, full).startsWith('..'))
        throw new FormatError(
          `loadTfjsModel: ${jsonPath} names weights at ${JSON.stringify(path)}, outside the model's folder.`,
        );
      const bytes = new Uint8Array(
        await readFile(full).catch((cause: Error) => {
          throw new FormatError(
            `loadTfjsModel: cannot read the weights ${full} that ${jsonPath} names: ${cause.message}`,
            { cause },
          );
        }),
      );
      total += bytes.length;
      if (total > MAX_WEIGHT_BYTES) throw new FormatError(`loadTfjsModel: ${jsonPath}'s weights pass 4 GiB; refused.`);
      buffers.push(bytes);
    }
  }
  const bytesOf: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, float16: 2 };
  const expected = weightSpecs.reduce(
    (a, w) =>
      a +
      w.shape.reduce((x, y) => x * y, 1) *
        (w.quantization ? (bytesOf[w.quantization.dtype] ?? 1) : (bytesOf[w.dtype] ?? 4)),
    0,
  );
  if (expected !== total)
    throw new FormatError(
      `loadTfjsModel: ${jsonPath}'s manifest describes ${expected} bytes of weights; its files hold ${total}.`,
    );
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    weightData.set(b, at);
    at += b.length;
  }
  const { weightsManifest: _manifest, ...rest } = json;
  const artifacts = { ...rest, weightSpecs, weightData: weightData.buffer } as tf.io.ModelArtifacts;
  const handler = tf.io.fromMemory(artifacts);
  return (
    json.format === 'graph-model' ? tfconv.loadGraphModel(handler) : tfl.loadLayersModel(handler)
  ) as Promise<TfjsModel>;
}
