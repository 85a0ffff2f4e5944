import { gaussian, type HostTensor, type Masks, type ModelSpec, rng, type TensorMap, tf } from '@lth/core';

/** One direction in weight space: a float32 array per weight it moves (absent weights stay put). */
export type Direction = Record<string, HostTensor<Float32Array>>;

/**
 * The weights a direction moves: the prunable kernels, plus (on request) every other trainable
 * weight (biases, batch-norm scale and shift). Buffers (batch-norm running statistics) never move.
 */
export function movedWeights(model: Pick<ModelSpec, 'weightNames' | 'prunable'>, includeBiases: boolean): string[] {
  return includeBiases ? [...model.weightNames] : model.weightNames.filter((n) => model.prunable.includes(n));
}

/**
 * A standard normal draw for each of `names`, from one seed, in the order given. It depends on the
 * shapes and the seed only, so every level of a run draws the same numbers.
 */
export function gaussianDirection(shapes: Record<string, number[]>, names: string[], seed: number): Direction {
  const normal = gaussian(rng(seed));
  const out: Direction = {};
  for (const name of names) {
    const shape = shapes[name]!;
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = normal();
    out[name] = { shape: [...shape], data };
  }
  return out;
}

/**
 * Filter normalisation (Li et al. 2018), inside a mask. A filter is the slice of a kernel along its
 * last axis: for a dense kernel [in, out], the weights into one unit; for a conv kernel
 * [h, w, in, out], one output channel. Each filter of the direction is zeroed where the mask prunes
 * and rescaled to the norm of the same filter of `weights` over the surviving entries, so the
 * surface is drawn in the ticket's own subspace and at the scale of its own filters. A 0-d or 1-d
 * weight (bias, batch-norm parameter) is one filter. A filter with no surviving weight, or whose
 * weights are all zero, gets a zero direction.
 */
export function filterNormalise(direction: HostTensor<Float32Array>, weights: Float32Array, mask?: HostTensor<Uint8Array>): HostTensor<Float32Array> {
  const { shape } = direction;
  const filters = shape.length >= 2 ? shape[shape.length - 1]! : 1;
  const d = Float32Array.from(direction.data);
  if (mask) for (let i = 0; i < d.length; i++) if (!mask.data[i]) d[i] = 0;
  const dNorm = new Float64Array(filters);
  const wNorm = new Float64Array(filters);
  for (let i = 0; i < d.length; i++) {
    const f = i % filters;
    dNorm[f]! += d[i]! * d[i]!;
    const w = mask && !mask.data[i] ? 0 : weights[i]!;
    wNorm[f]! += w * w;
  }
  const scale = Array.from(dNorm, (dn, f) => (dn > 0 ? Math.sqrt(wNorm[f]!) / Math.sqrt(dn) : 0));
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale[i % filters]!;
  return { shape: [...shape], data: d };
}

/** The filter-normalised, masked direction for one level: a level-independent draw, scaled to θT. */
export function landscapeDirection(
  model: Pick<ModelSpec, 'weightNames' | 'prunable' | 'shapes'>,
  final: TensorMap,
  masks: Masks,
  seed: number,
  includeBiases: boolean,
): Direction {
  const names = movedWeights(model, includeBiases);
  const raw = gaussianDirection(model.shapes, names, seed);
  const out: Direction = {};
  for (const name of names) out[name] = filterNormalise(raw[name]!, final[name]!.dataSync() as Float32Array, masks[name]);
  return out;
}

/** A direction as tensors (the caller disposes them). */
export function directionTensors(direction: Direction): TensorMap {
  return Object.fromEntries(Object.entries(direction).map(([name, d]) => [name, tf.tensor(d.data, d.shape, 'float32')]));
}
