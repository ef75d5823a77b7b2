import * as tf from '@tensorflow/tfjs-core';
import { modelFingerprint, readModelFingerprint } from '../embedding/pipeline.js';
import { projectionMatrix } from '../decomposition/random-projection.js';
import { reduceLatent, type ReducerState } from '../embedding/reducer.js';
import { CbirError } from '../errors.js';
import { resizeShortSide, toRgb } from '../image/image-ops.js';
import { imagesToTensor, type RawImage } from '../image/raw-image.js';
import type { Matrix } from '../matrix.js';
import type { Autoencoder } from '../models/autoencoder.js';
import type { ExtractorSpec, FeatureExtractor } from './extractor.js';
import { scaleToUnit } from '../compute/normalize.js';

/**
 * The notebook's autoencoders as a member of the extractor family (kind `'autoencoder'`): the encoder's latent,
 * reduced by a fitted reducer (`embedImages`' `features.reducer`, or an index's `pipeline.reducer`). Images should
 * come at the model's input size (`imageSize`; cbir-node decodes them so); others are resized (short side) and
 * centre-cropped to it here. The spec records the architecture, input size, a fingerprint of the weights and the
 * reducer; restoring it needs the model (`createExtractor(spec, { model })`) and refuses other weights.
 *
 * @example
 * ```ts
 * const { reducer } = await embedImages(ae, data, { reduce: 'avgpool' });
 * const fx = new AutoencoderExtractor(ae, reducer);
 * const q = await extractOne(fx, query);   // as the collection was embedded
 * ```
 */
export class AutoencoderExtractor implements FeatureExtractor {
  readonly kind = 'autoencoder';
  readonly needsFit = false;
  readonly rawDim: number;
  readonly dim: number;
  readonly imageSize: number;
  private readonly projection?: Float32Array;

  /**
   * @param fingerprint - The model's {@link modelFingerprint}, when already read (its spec then reads no weights:
   * WebGPU in Node cannot read synchronously).
   */
  constructor(
    private readonly model: Autoencoder,
    private readonly reducer: ReducerState,
    private readonly fingerprint?: string,
  ) {
    const [c, h, w] = model.latentShape;
    if (!reducer || reducer.latentShape?.join() !== [c, h, w].join()) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `autoencoder: the reducer takes latents ${reducer?.latentShape?.join('x')}; this model's are ${c}x${h}x${w}. Use the reducer fitted on this model's features.`,
      );
    }
    this.rawDim = this.dim = reducer.dim;
    this.imageSize = model.inputSize;
    if (reducer.kind === 'rp') this.projection = projectionMatrix(c * h * w, reducer.dim, reducer.seed ?? 0);
  }

  async extract(images: readonly RawImage[]): Promise<Float32Array[]> {
    if (images.length === 0) return [];
    const s = this.imageSize;
    const sized = images.map((im) => (im.width === s && im.height === s ? im : resizeShortSide(toRgb(im), s, true)));
    const z = tf.tidy(() => this.model.encode(imagesToTensor(sized, s)));
    let latent: Float32Array;
    try {
      latent = (await z.data()) as Float32Array;
    } finally {
      z.dispose();
    }
    const per = latent.length / images.length;
    return images.map((_, i) => {
      const v = reduceLatent(latent.subarray(i * per, (i + 1) * per), this.reducer, this.projection);
      if (this.reducer.l2) scaleToUnit(v);
      return v;
    });
  }

  fit(): void {}

  transform(raw: Matrix): Matrix {
    return { data: raw.data.slice(), rows: raw.rows, cols: raw.cols };
  }

  spec(): ExtractorSpec {
    const { mean, components, ...reducer } = this.reducer;
    return {
      kind: this.kind,
      options: {
        architecture: this.model.architecture.name,
        inputSize: this.model.inputSize,
        model: this.fingerprint ?? modelFingerprint(this.model),
        reducer,
      },
      state: { ...(mean ? { mean } : {}), ...(components ? { components } : {}) },
    };
  }

  /** Nothing to free: the model is the caller's. */
  dispose(): void {}
}

/** The registry's factory for `'autoencoder'`: the spec's reducer over `context.model`, which must be the same network. @internal */
export async function autoencoderFromSpec(spec: ExtractorSpec, model: unknown): Promise<AutoencoderExtractor> {
  const o = spec.options as {
    architecture?: string;
    inputSize?: number;
    model?: string;
    reducer?: Omit<ReducerState, 'mean' | 'components'>;
  };
  if (!model)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `autoencoder: these features were made by ${o.architecture ?? 'an autoencoder'} at ${o.inputSize} px; load it and pass it as { model } (cbir search --model).`,
    );
  const ae = model as Autoencoder;
  if (ae.architecture?.name !== o.architecture || ae.inputSize !== o.inputSize) {
    throw new CbirError(
      'INVALID_ARGUMENT',
      `autoencoder: the features were made by ${o.architecture} at ${o.inputSize} px; the model given is ${ae.architecture?.name} at ${ae.inputSize} px.`,
    );
  }
  const fingerprint = await readModelFingerprint(ae);
  if (o.model && fingerprint !== o.model)
    throw new CbirError(
      'INVALID_ARGUMENT',
      `autoencoder: the features were made by weights ${o.model}; the model given has weights ${fingerprint}.`,
    );
  if (!o.reducer)
    throw new CbirError('INVALID_ARGUMENT', 'autoencoder: the spec has no reducer; extract the features again.');
  return new AutoencoderExtractor(
    ae,
    {
      ...o.reducer,
      ...(spec.state?.mean ? { mean: spec.state.mean } : {}),
      ...(spec.state?.components ? { components: spec.state.components } : {}),
    } as ReducerState,
    fingerprint,
  );
}
