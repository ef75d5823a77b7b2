import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CbirError } from '../errors.js';
import { resizeShortSide, toRgb } from '../image/image-ops.js';
import type { RawImage } from '../image/raw-image.js';
import { crc32 } from '../io/crc32.js';
import type { Matrix } from '../matrix.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
import { scaleRowsToUnit } from '../compute/normalize.js';

/**
 * A loaded tfjs model: a layers model (`tf.LayersModel`, from `tf.loadLayersModel`) or a graph model
 * (`tf.GraphModel`, from `tf.loadGraphModel` of @tensorflow/tfjs-converter), as cbir-node's `loadTfjsModel` and the
 * browser's loaders return them. Only what the extractor calls is required.
 */
export interface TfjsModel {
  /** Graph models: runs the graph up to the named outputs. */
  execute?(inputs: tf.Tensor, outputs?: string | string[]): tf.Tensor | tf.Tensor[];
  /** Layers models (and graph models): the model's outputs. */
  predict(inputs: tf.Tensor): tf.Tensor | tf.Tensor[];
  /** Graph models' weights by node name (`Record<string, tf.Tensor[]>`; layers models' are variables). */
  weights?: unknown;
  /** Layers models' weights. */
  getWeights?(): tf.Tensor[];
  /** Layers models: a layer by name (for `output`). */
  getLayer?(name: string): { output: unknown };
  /** Layers models: the model's input tensors (for a view on a named layer). */
  inputs?: unknown;
  /** Frees the model's weights. */
  dispose?(): void;
}

/** Options of {@link PretrainedExtractor}: how images go in and which output comes out. */
export interface PretrainedOptions {
  /** Side of the square the model takes; images are resized (short side, `INTER_AREA`) and centre-cropped to it. */
  inputSize: number;
  /**
   * Pixel scaling the model was trained with: `'unit'` x / 255 (most TF Hub image models), `'symmetric'`
   * x / 127.5 - 1 (MobileNet v1 and v2), `'imagenet'` (x / 255 - mean) / std with ImageNet's mean and std (models
   * converted from PyTorch), `'raw'` 0..255 (models with their own rescaling layer, as Keras' MobileNetV3).
   * @defaultValue 'unit'
   */
  scaling?: 'unit' | 'symmetric' | 'imagenet' | 'raw';
  /** The output to read: a graph node's name, or a layer's name of a layers model. @defaultValue the model's (first) output */
  output?: string;
  /** How a 4-D output `[n, h, w, c]` becomes a vector: global average or max pooling, or flattened. @defaultValue 'avg' */
  pool?: 'avg' | 'max' | 'none';
  /** Unit-length vectors (for cosine search). @defaultValue true */
  l2?: boolean;
  /** Where the model came from (kept for the user's information; named in errors); absent when not given. */
  source?: string;
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * A fingerprint of a tfjs model's weights (CRC-32 of every weight's values in order, with the count, as hex), so an
 * index refuses queries through other weights.
 *
 * @example
 * ```ts
 * tfjsModelFingerprint(model);   // e.g. '9a1c04d2-12'
 * ```
 */
export function tfjsModelFingerprint(model: TfjsModel): string {
  return weightsFingerprint(weightList(model).map((w) => w.dataSync() as Float32Array));
}

/**
 * {@link tfjsModelFingerprint}, read asynchronously: works on every backend (WebGPU in Node has no synchronous reads).
 *
 * @example
 * ```ts
 * await readTfjsModelFingerprint(model);   // the same string as tfjsModelFingerprint(model)
 * ```
 */
export async function readTfjsModelFingerprint(model: TfjsModel): Promise<string> {
  return weightsFingerprint(await Promise.all(weightList(model).map(async (w) => (await w.data()) as Float32Array)));
}

/** A layers model's weights in order, or a graph model's by name. */
function weightList(model: TfjsModel): tf.Tensor[] {
  const named = (model.weights ?? {}) as Record<string, tf.Tensor[]>;
  return model.getWeights
    ? model.getWeights()
    : Object.keys(named)
        .sort()
        .flatMap((k) => named[k]);
}

/** The CRC-32 of the weights' float32 values in order, with their count. */
function weightsFingerprint(list: Float32Array[]): string {
  const chunks = list.map((w) => new Uint8Array(w.slice().buffer));
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return `${crc32(all).toString(16).padStart(8, '0')}-${list.length}`;
}

/**
 * A pretrained tfjs model as a feature extractor (kind `'tfjs-model'`): any layers or graph model (MobileNet,
 * EfficientNet, a CLIP image tower converted to tfjs, your own), with its input size and scaling, reading the output
 * you name and pooling it to a vector. The spec saves the options and a fingerprint of the weights; restoring it
 * (`createExtractor(spec, { model })`) refuses a model with other weights.
 *
 * @example
 * ```ts
 * const model = await loadTfjsModel('https://tfhub.dev/.../model.json');   // cbir-node; or tf.loadGraphModel
 * const fx = await PretrainedExtractor.create(model, { inputSize: 224, scaling: 'symmetric' });
 * const { matrix } = await extractDataset(data, fx);
 * ```
 */
export class PretrainedExtractor implements FeatureExtractor {
  readonly kind = 'tfjs-model';
  readonly imageSize = 'original' as const;
  readonly needsFit = false;
  readonly rawDim: number;
  readonly dim: number;
  private readonly options: Required<Omit<PretrainedOptions, 'output' | 'source'>> &
    Pick<PretrainedOptions, 'output' | 'source'>;
  private readonly run: (x: tf.Tensor4D) => tf.Tensor;
  private readonly fingerprint: string;
  private readonly sub?: tfl.LayersModel;

  private constructor(
    private readonly model: TfjsModel,
    options: PretrainedOptions,
    fingerprint: string,
  ) {
    const o = { scaling: 'unit' as const, pool: 'avg' as const, l2: true, ...options };
    if (!Number.isInteger(o.inputSize) || o.inputSize < 8 || o.inputSize > 2048)
      throw new CbirError(
        'INVALID_ARGUMENT',
        `tfjs-model: inputSize must be an integer from 8 to 2048, got ${o.inputSize}.`,
      );
    if (!['unit', 'symmetric', 'imagenet', 'raw'].includes(o.scaling))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `tfjs-model: scaling must be unit, symmetric, imagenet or raw, got ${JSON.stringify(o.scaling)}.`,
      );
    if (!['avg', 'max', 'none'].includes(o.pool))
      throw new CbirError(
        'INVALID_ARGUMENT',
        `tfjs-model: pool must be avg, max or none, got ${JSON.stringify(o.pool)}.`,
      );
    this.options = o;
    this.fingerprint = fingerprint;
    const first = (y: tf.Tensor | tf.Tensor[]) => {
      if (!Array.isArray(y)) return y;
      y.slice(1).forEach((t) => t.dispose());
      return y[0];
    };
    if (o.output && model.execute && !model.getLayer) this.run = (x) => first(model.execute!(x, o.output));
    else if (o.output) {
      if (!model.getLayer)
        throw new CbirError(
          'INVALID_ARGUMENT',
          `tfjs-model: output ${JSON.stringify(o.output)} needs a graph model (execute) or a layers model (getLayer).`,
        );
      let layer;
      try {
        layer = model.getLayer(o.output);
      } catch (e) {
        throw new CbirError(
          'INVALID_ARGUMENT',
          `tfjs-model: the model has no layer ${JSON.stringify(o.output)}: ${(e as Error).message}`,
          { cause: e },
        );
      }
      this.sub = tfl.model({
        inputs: model.inputs as tfl.SymbolicTensor[],
        outputs: layer.output as tfl.SymbolicTensor,
      });
      this.run = (x) => first(this.sub!.predict(x));
    } else this.run = (x) => first(model.predict(x));
    // One probe image tells the output's size (and checks the input size against the model).
    let probe: tf.Tensor;
    try {
      probe = tf.tidy(() => this.pooled(this.run(tf.zeros([1, o.inputSize, o.inputSize, 3]))));
    } catch (e) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `tfjs-model: the model does not run on a ${o.inputSize} x ${o.inputSize} x 3 image: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.rawDim = this.dim = probe.size;
    probe.dispose();
  }

  /**
   * Wraps a loaded model.
   * @throws {@link CbirError} for bad options, an unknown output, or a model that does not run at `inputSize`.
   */
  static async create(model: TfjsModel, options: PretrainedOptions): Promise<PretrainedExtractor> {
    if (!model || typeof model.predict !== 'function')
      throw new CbirError(
        'INVALID_ARGUMENT',
        'tfjs-model: give a loaded tfjs layers or graph model (cbir-node: loadTfjsModel).',
      );
    return new PretrainedExtractor(model, options, await readTfjsModelFingerprint(model));
  }

  /** `[n, ...]` to `[n, d]`: pooled over height and width when 4-D, flattened otherwise. */
  private pooled(y: tf.Tensor): tf.Tensor2D {
    const n = y.shape[0];
    if (y.rank === 4 && this.options.pool !== 'none')
      return (this.options.pool === 'avg' ? tf.mean(y, [1, 2]) : tf.max(y, [1, 2])) as tf.Tensor2D;
    return tf.reshape(y, [n, -1]) as tf.Tensor2D;
  }

  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    const s = this.options.inputSize;
    const pixels = new Float32Array(images.length * s * s * 3);
    images.forEach((im, i) => {
      const sq = resizeShortSide(toRgb(im), s, true).data;
      const o = i * s * s * 3;
      for (let p = 0; p < s * s * 3; p++) {
        const v = sq[p];
        const c = p % 3;
        const sc = this.options.scaling;
        pixels[o + p] =
          sc === 'unit'
            ? v / 255
            : sc === 'symmetric'
              ? v / 127.5 - 1
              : sc === 'imagenet'
                ? (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
                : v;
      }
    });
    const out = tf.tidy(() => this.pooled(this.run(tf.tensor4d(pixels, [images.length, s, s, 3]))));
    const data = (await out.data()) as Float32Array;
    out.dispose();
    return images.map((_, i) => data.slice(i * this.rawDim, (i + 1) * this.rawDim));
  }

  fit(): void {}

  transform(raw: Matrix): Matrix {
    const data = raw.data.slice();
    if (this.options.l2) scaleRowsToUnit(data, raw.rows, raw.cols);
    return { data, rows: raw.rows, cols: raw.cols };
  }

  spec(): ExtractorSpec {
    return { kind: this.kind, options: { ...this.options, model: this.fingerprint } };
  }

  /**
   * Nothing to free: the model is the caller's (dispose it when done), and the view it builds for a named layer
   * shares the model's layers and weights (disposing that view would dispose them).
   */
  dispose(): void {}
}

/** The registry's factory for `'tfjs-model'`: the spec's options over `context.model`, whose weights must match. @internal */
export async function pretrainedFromSpec(spec: ExtractorSpec, model: unknown): Promise<PretrainedExtractor> {
  if (!model)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `tfjs-model: these features were made by a tfjs model${spec.options.source ? ` (${String(spec.options.source)})` : ''}; load it and pass it as { model }, e.g. cbir search --model DIR|URL.`,
    );
  const { model: fingerprint, ...options } = spec.options as unknown as PretrainedOptions & { model?: string };
  const fx = await PretrainedExtractor.create(model as TfjsModel, options);
  if (fingerprint && fx.spec().options.model !== fingerprint) {
    fx.dispose();
    throw new CbirError(
      'INVALID_ARGUMENT',
      `tfjs-model: the model given has weights ${String(fx.spec().options.model)}; the features were made by weights ${fingerprint}. Pass the model that made them.`,
    );
  }
  return fx;
}
