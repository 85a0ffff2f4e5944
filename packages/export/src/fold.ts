import { type ExportTicket, type LayerDescription, UserError } from '@lth/core';

/**
 * The ticket with every inference batch norm folded into the dense or convolution layer before it
 * (whose activation must be linear): per output channel c, with s = γ / √(variance + ε),
 * kernel[..., c] · s and (bias − mean) · s + β, and the layer takes the batch norm's activation.
 * The formats then need no batch-norm layer, and pruned weights stay exactly 0 (0 · s). Computed
 * in double precision, rounded once to float32.
 */
export function foldBatchNorm(ticket: ExportTicket): ExportTicket {
  if (!ticket.description.layers.some((l) => l.type === 'batchnorm')) return ticket;
  const weights = { ...ticket.weights };
  const layers: LayerDescription[] = [];
  for (const l of ticket.description.layers) {
    if (l.type !== 'batchnorm') {
      layers.push(l);
      continue;
    }
    const prev = layers[layers.length - 1];
    if (!prev || (prev.type !== 'conv2d' && prev.type !== 'dense') || prev.activation !== 'linear') {
      throw new UserError(`batch norm "${l.name}" follows ${prev ? `a ${prev.type} layer${'activation' in prev ? ` with ${prev.activation} activation` : ''}` : 'the input'}; exporters fold batch norm into a linear dense or conv2d layer just before it`, '--format');
    }
    const [gamma, beta, mean, variance] = [l.gamma, l.beta, l.mean, l.variance].map((n) => ticket.weights[n]!.data);
    const kernel = ticket.weights[prev.kernel]!;
    const bias = ticket.weights[prev.bias]!;
    const channels = bias.data.length;
    const scale = Float64Array.from({ length: channels }, (_, c) => gamma![c]! / Math.sqrt(variance![c]! + l.epsilon));
    // The output channel is the kernel's last axis, for dense [in, units] and conv2d [kh, kw, in, out] alike.
    weights[prev.kernel] = { shape: kernel.shape, data: Float32Array.from(kernel.data, (w, i) => w * scale[i % channels]!) };
    weights[prev.bias] = { shape: bias.shape, data: Float32Array.from(bias.data, (b, c) => (b - mean![c]!) * scale[c]! + beta![c]!) };
    layers[layers.length - 1] = { ...prev, activation: l.activation };
  }
  return { ...ticket, description: { ...ticket.description, layers }, weights };
}
