import { type ExportTicket, type LayerDescription, UserError } from '@lth/core';
import onnxProto from 'onnx-proto';
import { foldBatchNorm } from './fold.js';
import { VERSION } from './version.js';

const { onnx } = onnxProto;

/** The ONNX operator set the export targets (Gemm, Conv, MaxPool, Relu, Transpose, Flatten as of opset 13). */
export const ONNX_OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
export const ONNX_IR_VERSION = 7;
/** The graph's input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'logits';

/** Layers the ONNX export writes; anything else in a description is refused. */
const ONNX_LAYERS = new Set(['flatten', 'dense', 'conv2d', 'maxpool', 'globalavgpool']);

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

/**
 * The ticket as an ONNX model (opset 13), for onnxruntime and every ONNX tool. The input is
 * `[batch, ...inputShape]` in lth's own layout (NHWC for images), the output the logits
 * `[batch, classes]`. Batch norm is folded into the layer before it (`foldBatchNorm`). Dense
 * layers are `Gemm`; convolutions (3×3 'same', stride 1) and pooling run in ONNX's
 * NCHW between a `Transpose` after the input and one before the `Flatten`, so the flattened
 * order is lth's (row-major NHWC) and the dense kernels are stored as trained. Pruned weights are
 * stored as zeros (ONNX initializers are dense). The source of the ticket is in `metadata_props`
 * under `lth` (JSON).
 */
export function onnxModelBytes(exported: ExportTicket): Uint8Array {
  const ticket = foldBatchNorm(exported);
  const { description, provenance } = ticket;
  const unsupported = [...new Set(description.layers.filter((l) => !ONNX_LAYERS.has(l.type)).map((l) => l.type))];
  if (unsupported.length || !description.layers.length) {
    throw new UserError(`the onnx export supports flatten, dense, conv2d, maxpool, globalavgpool and batchnorm (folded) layers (the LeNet family, Conv-2/4/6, VGG); this model has ${unsupported.join(', ') || 'no layers'}`, '--format');
  }
  const first = description.layers[0]!;
  if (first.type === 'dense' && description.inputShape.length > 1) {
    throw new UserError(`the model's input is ${description.inputShape.join('x')} but it describes no flatten before its first dense layer`, '--format');
  }
  const last = [...description.layers].reverse().find((l) => l.type === 'dense' || l.type === 'conv2d');
  if (!last || last.type !== 'dense') {
    throw new UserError('the onnx export needs a dense layer last (its units are the logits)', '--format');
  }
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  let current = ONNX_INPUT;
  /** Whether `current` is channels-first (inside the convolutional part). */
  let nchw = false;
  const node = (opType: string, inputs: string[], name: string, attribute: onnxProto.onnx.IAttributeProto[] = []) => {
    nodes.push({ opType, input: inputs, output: [name], name, attribute });
    current = name;
  };
  const toNchw = (wanted: boolean, at: number) => {
    if (nchw === wanted) return;
    node('Transpose', [current], `transpose_${at}`, [ints('perm', wanted ? [0, 3, 1, 2] : [0, 2, 3, 1])]);
    nchw = wanted;
  };
  description.layers.forEach((l: LayerDescription, i) => {
    switch (l.type) {
      case 'conv2d': {
        toNchw(true, i);
        const kernel = ticket.weights[l.kernel]!;
        const [kh, kw] = l.kernelSize;
        initializers.push(initializer(l.kernel, [kernel.shape[3]!, kernel.shape[2]!, kh, kw], convKernelToOihw(kernel.data, kernel.shape)));
        initializers.push(initializer(l.bias, ticket.weights[l.bias]!.shape, ticket.weights[l.bias]!.data));
        // 'same' at stride 1, as TensorFlow pads: the odd pixel (even kernels) goes after.
        const pads = [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2), Math.ceil((kh - 1) / 2), Math.ceil((kw - 1) / 2)];
        node('Conv', [current, l.kernel, l.bias], l.name, [ints('kernel_shape', [kh, kw]), ints('strides', [1, 1]), ints('pads', pads), ints('dilations', [1, 1])]);
        if (l.activation === 'relu') node('Relu', [current], `${l.name}_relu`);
        break;
      }
      case 'maxpool':
        toNchw(true, i);
        node('MaxPool', [current], `max_pool_${i}`, [ints('kernel_shape', [l.size, l.size]), ints('strides', [l.size, l.size])]);
        break;
      case 'globalavgpool':
        // [batch, c, 1, 1] → [batch, c]: with one pixel left, NCHW and NHWC flatten alike.
        toNchw(true, i);
        node('GlobalAveragePool', [current], `global_average_pool_${i}`);
        node('Flatten', [current], `flatten_${i}`, [int('axis', 1)]);
        nchw = false;
        break;
      case 'flatten':
        toNchw(false, i);
        node('Flatten', [current], `flatten_${i}`, [int('axis', 1)]);
        break;
      case 'dense': {
        const kernel = ticket.weights[l.kernel]!;
        initializers.push(initializer(l.kernel, kernel.shape, kernel.data));
        initializers.push(initializer(l.bias, ticket.weights[l.bias]!.shape, ticket.weights[l.bias]!.data));
        node('Gemm', [current, l.kernel, l.bias], l.name);
        if (l.activation === 'relu') node('Relu', [current], `${l.name}_relu`);
        break;
      }
    }
  });
  // The last node's output is the graph's output.
  nodes[nodes.length - 1]!.output = [ONNX_OUTPUT];
  const model: onnxProto.onnx.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'lth',
    producerVersion: VERSION,
    docString: `lth ticket: ${String(provenance.run)} replicate ${String(provenance.replicate)} level ${String(provenance.level)}`,
    graph: {
      name: 'lth_ticket',
      node: nodes,
      initializer: initializers,
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
