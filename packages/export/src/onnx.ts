import { type ExportTicket, type LayerDescription, UserError } from '@lth/core';
import onnxProto from 'onnx-proto';
import { foldBatchNorm } from './fold.js';
import { VERSION } from './version.js';

const { onnx } = onnxProto;

/** The ONNX operator set the export targets (Gemm, Conv, MaxPool, GlobalAveragePool, Relu, Add, Slice, Pad, Transpose, Flatten as of opset 13). */
export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
/** The graph's input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

/** Layers the ONNX export writes; anything else in a description is refused. */
const ONNX_LAYERS = new Set(['flatten', 'dense', 'conv2d', 'maxpool', 'globalavgpool', 'residual', 'subsample', 'padchannels', 'batchnorm']);

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A float32 initializer: little-endian raw bytes, as ONNX stores them. */
function initializer(name: string, dims: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

const ints = (name: string, values: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
const int = (name: string, value: number): onnxProto.onnx.IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });

/** A float tensor's type with a symbolic batch dimension first. */
function batchedType(shape: number[]): onnxProto.onnx.ITypeProto {
  return { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, ...shape.map((d) => ({ dimValue: d }))] } } };
}

/** [kh, kw, in, out] (lth, TensorFlow) → [out, in, kh, kw] (ONNX Conv). */
function convKernelToOihw(data: Float32Array, [kh, kw, cin, cout]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < cin!; i++)
        for (let o = 0; o < cout!; o++) out[((o * cin! + i) * kh! + y) * kw! + x] = data[((y * kw! + x) * cin! + i) * cout! + o]!;
  return out;
}

/** Every layer type in a description, residual blocks' included. */
function layerTypes(layers: LayerDescription[]): string[] {
  return layers.flatMap((l) => (l.type === 'residual' ? [l.type, ...layerTypes(l.body), ...layerTypes(l.shortcut)] : [l.type]));
}

/**
 * An ONNX graph built node by node: `current` is the tensor the next layer reads, `nchw` whether
 * it is channels-first (inside the convolutional part).
 */
class GraphBuilder {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  current = ONNX_INPUT;
  nchw = false;
  private count = 0;

  constructor(private readonly weights: ExportTicket['weights']) {}

  /** A fresh node (and output) name. */
  fresh(kind: string): string {
    return `${kind}_${this.count++}`;
  }

  node(opType: string, inputs: string[], name: string, attribute: onnxProto.onnx.IAttributeProto[] = []): void {
    this.nodes.push({ opType, input: inputs, output: [name], name, attribute });
    this.current = name;
  }

  toNchw(wanted: boolean): void {
    if (this.nchw === wanted) return;
    this.node('Transpose', [this.current], this.fresh('transpose'), [ints('perm', wanted ? [0, 3, 1, 2] : [0, 2, 3, 1])]);
    this.nchw = wanted;
  }

  float(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(initializer(name, dims, data));
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  weight(name: string) {
    return this.weights[name]!;
  }

  layers(layers: LayerDescription[]): void {
    for (const l of layers) this.layer(l);
  }

  private layer(l: LayerDescription): void {
    switch (l.type) {
      case 'conv2d': {
        this.toNchw(true);
        const kernel = this.weight(l.kernel);
        const [kh, kw] = l.kernelSize;
        const stride = l.stride ?? 1;
        const inputs = [this.current, this.float(l.kernel, [kernel.shape[3]!, kernel.shape[2]!, kh, kw], convKernelToOihw(kernel.data, kernel.shape))];
        if (l.bias) inputs.push(this.float(l.bias, this.weight(l.bias).shape, this.weight(l.bias).data));
        // (k − 1) / 2 on each side: 'same' at stride 1 (the odd pixel of an even kernel after, as TensorFlow pads).
        const pads = [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2), Math.ceil((kh - 1) / 2), Math.ceil((kw - 1) / 2)];
        this.node('Conv', inputs, l.name, [ints('kernel_shape', [kh, kw]), ints('strides', [stride, stride]), ints('pads', pads), ints('dilations', [1, 1])]);
        if (l.activation === 'relu') this.node('Relu', [this.current], `${l.name}_relu`);
        return;
      }
      case 'maxpool':
        this.toNchw(true);
        this.node('MaxPool', [this.current], this.fresh('max_pool'), [ints('kernel_shape', [l.size, l.size]), ints('strides', [l.size, l.size])]);
        return;
      case 'globalavgpool':
        // [batch, c, 1, 1] → [batch, c]: with one pixel left, NCHW and NHWC flatten alike.
        this.toNchw(true);
        this.node('GlobalAveragePool', [this.current], this.fresh('global_average_pool'));
        this.node('Flatten', [this.current], this.fresh('flatten'), [int('axis', 1)]);
        this.nchw = false;
        return;
      case 'flatten':
        this.toNchw(false);
        this.node('Flatten', [this.current], this.fresh('flatten'), [int('axis', 1)]);
        return;
      case 'subsample': {
        this.toNchw(true);
        const id = this.fresh('subsample');
        const inputs = [this.int64(`${id}_starts`, [0, 0]), this.int64(`${id}_ends`, [2 ** 31 - 1, 2 ** 31 - 1]), this.int64(`${id}_axes`, [2, 3]), this.int64(`${id}_steps`, [l.stride, l.stride])];
        this.node('Slice', [this.current, ...inputs], id);
        return;
      }
      case 'padchannels': {
        this.toNchw(true);
        const id = this.fresh('pad_channels');
        this.node('Pad', [this.current, this.int64(`${id}_pads`, [0, l.before, 0, 0, 0, l.after, 0, 0])], id);
        return;
      }
      case 'residual': {
        this.toNchw(true);
        const input = this.current;
        this.layers(l.body);
        this.toNchw(true);
        const body = this.current;
        this.current = input;
        this.layers(l.shortcut);
        this.toNchw(true);
        this.node('Add', [body, this.current], `${l.name}_add`);
        if (l.activation === 'relu') this.node('Relu', [this.current], `${l.name}_relu`);
        return;
      }
      case 'dense': {
        const kernel = this.weight(l.kernel);
        const bias = this.weight(l.bias);
        this.node('Gemm', [this.current, this.float(l.kernel, kernel.shape, kernel.data), this.float(l.bias, bias.shape, bias.data)], l.name);
        if (l.activation === 'relu') this.node('Relu', [this.current], `${l.name}_relu`);
        return;
      }
      default:
        // Batch norm is folded away before this (foldBatchNorm); anything else was refused.
        throw new Error(`no ONNX node for a ${l.type} layer`);
    }
  }
}

/**
 * The ticket as an ONNX model (opset 13), for onnxruntime and every ONNX tool. The input is
 * `[batch, ...inputShape]` in lth's own layout (NHWC for images), the output the logits
 * `[batch, classes]`. Batch norm is folded into the layer before it (`foldBatchNorm`). Dense
 * layers are `Gemm`; convolutions, pooling and residual blocks (`Add`; option-A shortcuts as
 * `Slice` and `Pad`) run in ONNX's NCHW between a `Transpose` after the input and one before the
 * `Flatten`, so the flattened order is lth's (row-major NHWC) and the dense kernels are stored as
 * trained. Pruned weights are stored as zeros (ONNX initializers are dense). The source of the
 * ticket is in `metadata_props` under `lth` (JSON).
 */
export function onnxModelBytes(exported: ExportTicket): Uint8Array {
  const types = layerTypes(exported.description.layers);
  const unsupported = [...new Set(types.filter((t) => !ONNX_LAYERS.has(t)))];
  if (unsupported.length || !types.length) {
    throw new UserError(
      `the onnx export supports flatten, dense, conv2d, maxpool, globalavgpool, residual, subsample, padchannels and batchnorm (folded) layers (the LeNet family, Conv-2/4/6, VGG, ResNet); this model has ${unsupported.join(', ') || 'no layers'}`,
      '--format',
    );
  }
  const ticket = foldBatchNorm(exported);
  const { description, provenance } = ticket;
  const first = description.layers[0]!;
  if (first.type === 'dense' && description.inputShape.length > 1) {
    throw new UserError(`the model's input is ${description.inputShape.join('x')} but it describes no flatten before its first dense layer`, '--format');
  }
  const last = description.layers[description.layers.length - 1]!;
  if (last.type !== 'dense') {
    throw new UserError('the onnx export needs a dense layer last (its units are the logits)', '--format');
  }
  const graph = new GraphBuilder(ticket.weights);
  graph.layers(description.layers);
  // The last node's output is the graph's output.
  graph.nodes[graph.nodes.length - 1]!.output = [ONNX_OUTPUT];
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'lth',
    producerVersion: VERSION,
    docString: `lth ticket: ${String(provenance.run)} replicate ${String(provenance.replicate)} level ${String(provenance.level)}`,
    graph: {
      name: 'lth_ticket',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [{ name: ONNX_INPUT, type: batchedType(description.inputShape) }],
      output: [{ name: ONNX_OUTPUT, type: batchedType([last.units]) }],
    },
    metadataProps: [{ key: 'lth', value: JSON.stringify(provenance) }],
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** The `lth` metadata of an ONNX model written by `onnxModelBytes` (the source of the ticket). */
export function onnxMetadata(bytes: Uint8Array): Record<string, unknown> | undefined {
  const model = onnx.ModelProto.decode(bytes);
  const entry = model.metadataProps.find((p) => p.key === 'lth');
  return entry?.value ? (JSON.parse(entry.value) as Record<string, unknown>) : undefined;
}
