import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CbirError } from '../errors.js';
import { reluGradient } from '../tfjs-kernels/wasm/relu-grad.js';

/** The parts of tfjs-layers' `Conv2D` layer this module reads. */
interface Conv2DLayer {
  kernel: { read(): tf.Tensor4D };
  bias: { read(): tf.Tensor1D } | null;
  strides: [number, number];
  padding: 'same' | 'valid';
  dilationRate: [number, number];
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/**
 * Convolution, bias and ReLU as one operation with its own gradient, for a `Conv2D` layer built with
 * `activation: 'relu'` while it trains. tfjs fuses them only outside gradients: under a gradient tape its
 * `fused.conv2d` runs `Conv2D`, then `Add` for the bias and `Relu`, two more passes over the output, and their
 * gradients (`Step`, `Cast`, `Multiply`, copies of `dy`). Here the forward pass is one `FusedConv2D` kernel (bias and
 * ReLU applied as the output is written), and the gradient is tfjs's fused one: `dy * step(y)` (`CbirReluGrad` where
 * the backend has it), then the two convolution gradients and the bias gradient's sum. The values are the same:
 * `step(relu(z)) = step(z)`, NaN included. Outside gradients the layer runs as before.
 */
export function fuseReluWhileTraining(layer: tfl.layers.Layer): void {
  const conv = layer as unknown as Conv2DLayer;
  const call = conv.call.bind(conv);
  conv.call = (inputs, kwargs) => {
    if (tf.engine().state.gradientDepth === 0 || !conv.bias) return call(inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return convBiasRelu(x, conv.kernel.read(), conv.bias.read(), conv.strides, conv.padding, conv.dilationRate);
  };
}

/**
 * The gradient of `FusedConv2D` with bias and ReLU (or no activation) when it runs under a gradient tape, as
 * {@link fuseReluWhileTraining} runs it: `g = dy * step(y)` (`CbirReluGrad` where the backend has it), then each input's
 * gradient only when the tape asks for it. The first convolution of a model has no variable below it, so its input
 * gradient (a 32 x 128 x 128 x 3 `Conv2DBackpropInput`, about 100 ms of a V2 step at 128 px) is not computed; a
 * `customGrad` computes every input's. tfjs registers no gradient of its own for this kernel: its `fused.conv2d` runs
 * the unfused kernels under a tape.
 */
export const fusedConv2DGradConfig: tf.GradConfig = {
  kernelName: tf.FusedConv2D,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const [x, filter, y] = saved;
    const { strides, pad, dilations, activation, dimRoundingMode } = attrs as unknown as tf.FusedConv2DAttrs;
    if (activation !== 'relu' && activation !== 'linear') {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `cbir's FusedConv2D gradient takes activation 'relu' or 'linear', got '${activation}': ` +
          'run the convolution and the activation as separate operations while training.',
      );
    }
    if (!tf.backend_util.eitherStridesOrDilationsAreOne(strides, dilations)) {
      throw new CbirError(
        'INVALID_ARGUMENT',
        `FusedConv2D's gradient needs strides or dilations of 1, got ${strides} and ${dilations}.`,
      );
    }
    // Computed once for all three (the backward pass's tidy frees it if the bias's gradient is not asked for).
    const g = activation === 'relu' ? reluGradient(dy as tf.Tensor, y) : (dy as tf.Tensor);
    const common = { strides, pad, dataFormat: 'NHWC', dimRoundingMode };
    return {
      x: () =>
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: g, filter }, {
          ...common,
          inputShape: x.shape,
        } as never) as tf.Tensor,
      filter: () =>
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: g }, {
          ...common,
          filterShape: filter.shape,
        } as never) as tf.Tensor,
      // Last of the three (the tape asks in the inputs' order): g is no longer needed after it.
      bias: () => {
        const db = tf.sum(g, [0, 1, 2]);
        if (g !== dy) g.dispose();
        return db;
      },
    };
  },
};

function convBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  pad: 'same' | 'valid',
  dilations: [number, number],
): tf.Tensor4D {
  if (!tf.getGradient(tf.FusedConv2D)) tf.registerGradient(fusedConv2DGradConfig);
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations, activation: 'relu' };
  return tf.engine().runKernel(tf.FusedConv2D, { x, filter, bias }, attrs as never) as tf.Tensor4D;
}
