import { type ExportTicket, type LayerDescription, UserError } from '@lth/core';

type Weights = ExportTicket['weights'];

/** Folds the batch norms of one sequence of layers (and of the residual blocks in it) into `weights`. */
function foldLayers(layers: LayerDescription[], weights: Weights): LayerDescription[] {
  const out: LayerDescription[] = [];
  for (const l of layers) {
    if (l.type === 'residual') {
      out.push({ ...l, body: foldLayers(l.body, weights), shortcut: foldLayers(l.shortcut, weights) });
      continue;
    }
    if (l.type !== 'batchnorm') {
      out.push(l);
      continue;
    }
    const prev = out[out.length - 1];
    if (!prev || (prev.type !== 'conv2d' && prev.type !== 'dense') || prev.activation !== 'linear') {
      throw new UserError(`batch norm "${l.name}" follows ${prev ? `a ${prev.type} layer${'activation' in prev ? ` with ${prev.activation} activation` : ''}` : 'the input'}; exporters fold batch norm into a linear dense or conv2d layer just before it`, '--format');
    }
    const [gamma, beta, mean, variance] = [l.gamma, l.beta, l.mean, l.variance].map((n) => weights[n]!.data);
    const kernel = weights[prev.kernel]!;
    const channels = gamma!.length;
    // A convolution without bias gets one: the batch norm's shift.
    const biasName = prev.bias ?? `${prev.name}/bias`;
    const bias = prev.bias ? weights[prev.bias]!.data : new Float32Array(channels);
    const scale = Float64Array.from({ length: channels }, (_, c) => gamma![c]! / Math.sqrt(variance![c]! + l.epsilon));
    // The output channel is the kernel's last axis, for dense [in, units] and conv2d [kh, kw, in, out] alike.
    weights[prev.kernel] = { shape: kernel.shape, data: Float32Array.from(kernel.data, (w, i) => w * scale[i % channels]!) };
    weights[biasName] = { shape: [channels], data: Float32Array.from(bias, (b, c) => (b - mean![c]!) * scale[c]! + beta![c]!) };
    out[out.length - 1] = { ...prev, bias: biasName, activation: l.activation };
  }
  return out;
}

/**
 * The ticket with every inference batch norm folded into the dense or convolution layer before it
 * (whose activation must be linear): per output channel c, with s = γ / √(variance + ε),
 * kernel[..., c] · s and (bias − mean) · s + β, and the layer takes the batch norm's activation.
 * The formats then need no batch-norm layer, and pruned weights stay exactly 0 (0 · s). Computed
 * in double precision, rounded once to float32.
 */
export function foldBatchNorm(ticket: ExportTicket): ExportTicket {
  const weights = { ...ticket.weights };
  const layers = foldLayers(ticket.description.layers, weights);
  return { ...ticket, description: { ...ticket.description, layers }, weights };
}
