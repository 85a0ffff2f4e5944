import * as tf from '@tensorflow/tfjs-core';
// tfjs's own gradients first, so that the check below sees them and ours only fill the gaps.
import '@tensorflow/tfjs';

/**
 * Gradients of the kernels that the backward pass of conv2d, depthwise conv2d and 2-D pooling
 * produces, which tfjs-core 4.22 does not register: without them a second backward pass (a
 * Hessian-vector product, see hessian.ts) fails with "gradient function not found". Each is
 * written with ops that tfjs (or this file) differentiates again. Every kernel here is linear in
 * its `dy`, and conv2d's filter backprop is bilinear in (x, dy), so each gradient is the adjoint
 * of the kernel, to float32 rounding. Where a case is not handled, the gradient throws an Error
 * that starts "Cannot compute gradient", as tfjs's own does for a missing gradient, so that
 * callers which fall back on that message still do.
 */

type Pool2DInfo = ReturnType<typeof tf.backend_util.computePool2DInfo>;

const cannot = (kernel: string, why: string) => new Error(`Cannot compute gradient of ${kernel}: ${why}.`);

function nhwcOnly(kernel: string, dataFormat: string | undefined): void {
  if (dataFormat != null && dataFormat !== 'NHWC') throw cannot(kernel, `data format ${dataFormat} (only NHWC is supported)`);
}

/**
 * `t` ([batch, inHeight, inWidth, channels]) cut to the rows and columns the pooling windows
 * cover: zero padding in front as the pooling padded, then zero padding or trimming at the end, so
 * that 'valid' windows over the result are exactly the pooling's windows.
 */
function coverWindows(t: tf.Tensor4D, info: Pool2DInfo): tf.Tensor4D {
  const [batch, height, width, channels] = t.shape;
  const rows = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const cols = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  const { top, left } = info.padInfo;
  const [bottom, right] = [Math.max(0, rows - height - top), Math.max(0, cols - width - left)];
  // Most pooling (2×2/2 'valid' on even sizes) needs neither step: skip the copies.
  const padded = top + bottom + left + right > 0 ? tf.pad(t, [[0, 0], [top, bottom], [left, right], [0, 0]]) : t;
  return padded.shape[1] === rows && padded.shape[2] === cols ? padded : tf.slice(padded, [0, 0, 0, 0], [batch, rows, cols, channels]);
}

const poolInfo = (shape: number[], attrs: tf.MaxPoolGradAttrs | tf.AvgPoolGradAttrs, dimRoundingMode?: 'floor' | 'round' | 'ceil') =>
  tf.backend_util.computePool2DInfo(shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, dimRoundingMode);

/**
 * Conv2DBackpropFilter(x, dy) = Σ over output positions of x's patch ⊗ dy: bilinear, so its
 * gradient w.r.t. x is the input backprop of dy through the filter G, and w.r.t. dy the forward
 * conv2d of x with G (the same pairs as tfjs's Conv2DBackpropInput gradient). Dilations do not
 * arise: tfjs's conv2d gradient refuses them before producing this kernel.
 */
export const conv2DBackpropFilterGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    nhwcOnly(tf.Conv2DBackpropFilter, dataFormat);
    const filter = g as tf.Tensor4D;
    return {
      x: () => tf.conv2dTranspose(dy, filter, x.shape, strides, pad, dimRoundingMode),
      dy: () => tf.conv2d(x, filter, strides, pad, 'NHWC', 1, dimRoundingMode),
    };
  },
};

/**
 * MaxPoolGrad(dy, input, output) routes each dy to its window's maximum: linear in dy, and
 * piecewise constant in input and output (zero gradient almost everywhere). Its adjoint picks G at
 * each window's maximum. The positions come from MaxPoolGrad itself, applied to ones, so that they
 * follow the backend's own tie-breaking. Summing G over each window of that mask is the pick only
 * when the windows tile the input (stride = window size, as in 2×2/2 pooling); with overlapping or
 * gapped windows a position can serve several windows, so those throw.
 */
export const maxPoolGradGradConfig: tf.GradConfig = {
  kernelName: tf.MaxPoolGrad,
  inputsToSave: ['input', 'output'],
  gradFunc: (g, saved, attrs) => {
    const [input, output] = saved as [tf.Tensor4D, tf.Tensor4D];
    const poolAttrs = attrs as unknown as tf.MaxPoolGradAttrs;
    const info = poolInfo(input.shape, poolAttrs, poolAttrs.dimRoundingMode);
    if (info.strideHeight !== info.filterHeight || info.strideWidth !== info.filterWidth) {
      throw cannot(
        tf.MaxPoolGrad,
        `only pooling windows that tile the input (stride = window size) are supported, got window ${info.filterHeight}×${info.filterWidth} with stride ${info.strideHeight}×${info.strideWidth}`,
      );
    }
    return {
      dy: () => {
        const chosen = tf.engine().runKernel(tf.MaxPoolGrad, { dy: tf.onesLike(output), input, output }, attrs) as tf.Tensor4D;
        const picked = coverWindows(tf.mul(g as tf.Tensor4D, chosen), info);
        const [batch, , , channels] = picked.shape;
        // The sum over each window, as two sums over a single axis (rows, then columns): a
        // backend reduces one middle axis faster than two apart (the native one only that).
        const rows = tf.sum(tf.reshape(picked, [batch * info.outHeight, info.filterHeight, -1]), 1);
        const cols = tf.sum(tf.reshape(rows, [batch * info.outHeight * info.outWidth, info.filterWidth, channels]), 1);
        return tf.reshape(cols, [batch, info.outHeight, info.outWidth, channels]);
      },
      input: () => tf.zerosLike(input),
      output: () => tf.zerosLike(output),
    };
  },
};

/**
 * AvgPoolGrad(dy, input) spreads each dy evenly over its window: linear in dy, and dependent on
 * input only through its shape. Its adjoint averages G over each window. The divisor is the whole
 * window's area, padding included, as tfjs's cpu AvgPoolGrad divides (its forward avgPool divides
 * 'same' border windows by their in-bounds count instead), so G is zero-padded and pooled 'valid'.
 */
export const avgPoolGradGradConfig: tf.GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (g, saved, attrs) => {
    const [input] = saved as [tf.Tensor4D];
    const poolAttrs = attrs as unknown as tf.AvgPoolGradAttrs;
    const info = poolInfo(input.shape, poolAttrs);
    return {
      dy: () => tf.avgPool(coverWindows(g as tf.Tensor4D, info), [info.filterHeight, info.filterWidth], [info.strideHeight, info.strideWidth], 'valid'),
      input: () => tf.zerosLike(input),
    };
  },
};

/** The depthwise counterpart of Conv2DBackpropFilter: bilinear in (x, dy). */
export const depthwiseConv2dNativeBackpropFilterGradConfig: tf.GradConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (g, saved, attrs) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const filter = g as tf.Tensor4D;
    const backpropInput: tf.DepthwiseConv2dNativeBackpropInputAttrs = { strides, dilations, pad, dimRoundingMode, inputShape: x.shape };
    return {
      x: () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter }, backpropInput as unknown as tf.NamedAttrMap) as tf.Tensor4D,
      dy: () => tf.depthwiseConv2d(x, filter, strides, pad, 'NHWC', dilations, dimRoundingMode),
    };
  },
};

/** The depthwise counterpart of Conv2DBackpropInput: bilinear in (dy, filter). */
export const depthwiseConv2dNativeBackpropInputGradConfig: tf.GradConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  inputsToSave: ['dy', 'filter'],
  gradFunc: (g, saved, attrs) => {
    const [dy, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, dilations, pad, dimRoundingMode } = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const dx = g as tf.Tensor4D;
    const backpropFilter: tf.DepthwiseConv2dNativeBackpropFilterAttrs = { strides, dilations, pad, dimRoundingMode, filterShape: filter.shape };
    return {
      dy: () => tf.depthwiseConv2d(dx, filter, strides, pad, 'NHWC', dilations, dimRoundingMode),
      filter: () => tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: dx, dy }, backpropFilter as unknown as tf.NamedAttrMap) as tf.Tensor4D,
    };
  },
};

export const secondDerivativeGradConfigs: readonly tf.GradConfig[] = [
  conv2DBackpropFilterGradConfig,
  maxPoolGradGradConfig,
  avgPoolGradGradConfig,
  depthwiseConv2dNativeBackpropFilterGradConfig,
  depthwiseConv2dNativeBackpropInputGradConfig,
];

/**
 * Registers the gradients above for the kernels that have none yet (a later tfjs that brings its
 * own keeps it). Idempotent. Returns the kernel names it registered.
 */
export function registerSecondDerivatives(): string[] {
  const added = secondDerivativeGradConfigs.filter((config) => tf.getGradient(config.kernelName) == null);
  for (const config of added) tf.registerGradient(config);
  return added.map((config) => config.kernelName);
}

registerSecondDerivatives();
