import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
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

function convBiasRelu(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  pad: 'same' | 'valid',
  dilations: [number, number],
): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations, activation: 'relu' };
  const forward = (xv: tf.Tensor, fv: tf.Tensor, bv: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.engine().runKernel('FusedConv2D', { x: xv, filter: fv, bias: bv }, attrs as never) as tf.Tensor4D;
    save([xv, fv, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [xs, fs, ys] = saved;
        // ReLU's gradient through its output: the registered Relu gradient takes the input, and y > 0 iff z > 0.
        const g = reluGradient(dy as tf.Tensor, ys);
        const common = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
        const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter: fs }, {
          ...common,
          inputShape: xs.shape,
        } as never) as tf.Tensor;
        const df = tf.engine().runKernel('Conv2DBackpropFilter', { x: xs, dy: g }, {
          ...common,
          filterShape: fs.shape,
        } as never) as tf.Tensor;
        const db = tf.sum(g, [0, 1, 2]);
        g.dispose();
        return [dx, df, db];
      },
    };
  };
  const op = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, filter, bias) as tf.Tensor4D;
}
