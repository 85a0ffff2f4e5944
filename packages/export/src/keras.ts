import type { ExportTicket, LayerDescription } from '@lth/core';

/** One layer of a Keras-style model.json topology, with the layers it reads (functional models). */
export interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
  name: string;
  inbound_nodes: [string, number, number, Record<string, never>][][];
}

/** A weight of the topology: `<layer name>/<kernel|bias>`, as tf.loadLayersModel matches them. */
export interface KerasWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

const base = { trainable: true, dtype: 'float32' };

/**
 * A description as Keras layers, in the order a forward pass applies them, tracking the tensor
 * each reads and its channel count (a channel pad needs it). Residual blocks become `Add` and
 * `Activation`; option-A shortcuts an `AveragePooling2D` of one pixel (every `stride`-th pixel)
 * and a fixed 1×1 `Conv2D` that copies the channels into place (each output is one input × 1 or
 * zeros, so exact); a strided convolution a `ZeroPadding2D` of (k − 1) / 2 and a 'valid' `Conv2D`.
 */
export class KerasGraph {
  readonly layers: KerasLayer[] = [];
  readonly weights: KerasWeight[] = [];
  current: string;
  private count = 0;

  constructor(
    private readonly ticket: ExportTicket,
    input: string,
    private channels: number,
  ) {
    this.current = input;
  }

  private add(class_name: string, name: string, config: Record<string, unknown>, inputs = [this.current]): void {
    this.layers.push({ class_name, config: { ...base, name, ...config }, name, inbound_nodes: [inputs.map((i) => [i, 0, 0, {}])] });
    this.current = name;
  }

  private fresh(kind: string): string {
    return `${kind}_${this.count++}`;
  }

  private weight(name: string, source: string | Float32Array, shape?: number[]): void {
    const w = typeof source === 'string' ? this.ticket.weights[source]! : { shape: shape!, data: source };
    this.weights.push({ name, shape: w.shape, data: w.data });
  }

  sequence(layers: LayerDescription[]): void {
    for (const l of layers) this.layer(l);
  }

  private layer(l: LayerDescription): void {
    const channelsLast = { data_format: 'channels_last' };
    switch (l.type) {
      case 'flatten':
        return this.add('Flatten', this.fresh('flatten'), channelsLast);
      case 'globalavgpool':
        return this.add('GlobalAveragePooling2D', this.fresh('global_average_pooling2d'), channelsLast);
      case 'maxpool':
        return this.add('MaxPooling2D', this.fresh('max_pooling2d'), { pool_size: [l.size, l.size], strides: [l.size, l.size], padding: 'valid', ...channelsLast });
      case 'subsample':
        return this.add('AveragePooling2D', this.fresh('subsample'), { pool_size: [1, 1], strides: [l.stride, l.stride], padding: 'valid', ...channelsLast });
      case 'padchannels': {
        const name = this.fresh('pad_channels');
        const out = l.before + this.channels + l.after;
        const kernel = new Float32Array(this.channels * out);
        for (let c = 0; c < this.channels; c++) kernel[c * out + c + l.before] = 1;
        this.add('Conv2D', name, { filters: out, kernel_size: [1, 1], strides: [1, 1], padding: 'valid', ...channelsLast, dilation_rate: [1, 1], activation: 'linear', use_bias: false, trainable: false });
        this.weight(`${name}/kernel`, kernel, [1, 1, this.channels, out]);
        this.channels = out;
        return;
      }
      case 'conv2d': {
        const stride = l.stride ?? 1;
        const [kh, kw] = l.kernelSize;
        if (stride !== 1) this.add('ZeroPadding2D', this.fresh('zero_padding2d'), { padding: [[(kh - 1) / 2, (kh - 1) / 2], [(kw - 1) / 2, (kw - 1) / 2]], ...channelsLast });
        this.add('Conv2D', l.name, {
          filters: l.filters,
          kernel_size: l.kernelSize,
          strides: [stride, stride],
          padding: stride === 1 ? 'same' : 'valid',
          ...channelsLast,
          dilation_rate: [1, 1],
          activation: l.activation,
          use_bias: l.bias !== undefined,
        });
        this.weight(`${l.name}/kernel`, l.kernel);
        if (l.bias) this.weight(`${l.name}/bias`, l.bias);
        this.channels = l.filters;
        return;
      }
      case 'residual': {
        const [input, channels] = [this.current, this.channels];
        this.sequence(l.body);
        const body = this.current;
        [this.current, this.channels] = [input, channels];
        this.sequence(l.shortcut);
        this.add('Add', `${l.name}_add`, {}, [body, this.current]);
        if (l.activation === 'relu') this.add('Activation', `${l.name}_relu`, { activation: 'relu' });
        return;
      }
      case 'dense':
        this.add('Dense', l.name, { units: l.units, activation: l.activation, use_bias: true });
        this.weight(`${l.name}/kernel`, l.kernel);
        this.weight(`${l.name}/bias`, l.bias);
        this.channels = l.units;
        return;
      default:
        // Batch norm is folded away before this (foldBatchNorm); anything else was refused.
        throw new Error(`no tfjs layer for a ${l.type} layer`);
    }
  }
}

/**
 * The Keras topology of a description: a Sequential model when it is a plain sequence, a
 * functional model (an `InputLayer`, each layer's inbound nodes) when it has residual blocks.
 */
export function kerasTopology(ticket: ExportTicket): { topology: Record<string, unknown>; weights: KerasWeight[] } {
  const { description } = ticket;
  const input = 'input';
  const graph = new KerasGraph(ticket, input, description.inputShape[description.inputShape.length - 1] ?? 1);
  graph.sequence(description.layers);
  const functional = description.layers.some((l) => l.type === 'residual');
  if (!functional) {
    const layers = graph.layers.map(({ class_name, config }) => ({ class_name, config: { ...config } }));
    layers[0]!.config.batch_input_shape = [null, ...description.inputShape];
    return { topology: { class_name: 'Sequential', config: { name: 'lth_ticket', layers } }, weights: graph.weights };
  }
  const inputLayer: KerasLayer = { class_name: 'InputLayer', config: { batch_input_shape: [null, ...description.inputShape], dtype: 'float32', sparse: false, name: input }, name: input, inbound_nodes: [] };
  return {
    topology: {
      class_name: 'Model',
      config: { name: 'lth_ticket', layers: [inputLayer, ...graph.layers], input_layers: [[input, 0, 0]], output_layers: [[graph.current, 0, 0]] },
    },
    weights: graph.weights,
  };
}
