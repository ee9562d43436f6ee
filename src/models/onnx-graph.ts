/**
 * Small, generic edits on an ONNX ModelProto, done with the protobufjs
 * classes from `onnx-proto` so the build needs no Python.
 *
 * Each helper does one edit in place and knows nothing about our three
 * models; `derive.ts` strings them into recipes.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

export const DataType = onnx.TensorProto.DataType;
export type Dim = number | string;

export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function graphOf(model: ModelProto): GraphProto {
  if (!model.graph) throw new Error('ONNX model has no graph');
  return model.graph;
}

/** A float32 tensor stored as little-endian raw data, as exporters write it. */
export function floatTensor(name: string, values: ArrayLike<number>, dims: readonly number[] = []): TensorProto {
  const raw = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) raw.setFloat32(i * 4, values[i]!, true);
  return { name, dataType: DataType.FLOAT, dims: [...dims], rawData: new Uint8Array(raw.buffer) };
}

export function int64Values(tensor: TensorProto): number[] {
  if (tensor.int64Data && tensor.int64Data.length > 0) return tensor.int64Data.map((v) => Number(v));
  const raw = tensor.rawData ?? new Uint8Array(0);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

export function setInt64Values(tensor: TensorProto, values: readonly number[]): void {
  const raw = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => raw.setBigInt64(i * 8, BigInt(v), true));
  tensor.int64Data = [];
  tensor.rawData = new Uint8Array(raw.buffer);
}

type AttributeValue = number | readonly number[] | string;

/** A node with integer, integer-list or string attributes (all that preprocessing needs). */
export function makeNode(opType: string, inputs: string[], outputs: string[], attributes: Record<string, AttributeValue> = {}, name = outputs[0]): NodeProto {
  const { AttributeType } = onnx.AttributeProto;
  const attribute = Object.entries(attributes).map(([key, value]) =>
    typeof value === 'number'
      ? { name: key, type: AttributeType.INT, i: value }
      : typeof value === 'string'
        ? { name: key, type: AttributeType.STRING, s: new TextEncoder().encode(value) }
        : { name: key, type: AttributeType.INTS, ints: [...value] },
  );
  return { opType, input: inputs, output: outputs, attribute, name: name ?? opType };
}

export function int64Tensor(name: string, values: readonly number[], dims: readonly number[] = [values.length]): TensorProto {
  const tensor: TensorProto = { name, dataType: DataType.INT64, dims: [...dims] };
  setInt64Values(tensor, values);
  return tensor;
}

/** A whole model from nodes, in the default ONNX domain at `opset`. */
export function makeModel(
  name: string,
  opset: number,
  parts: { inputs: ValueSpec[]; outputs: ValueSpec[]; nodes: NodeProto[]; initializers: TensorProto[] },
): ModelProto {
  return onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'facerec',
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name,
      node: parts.nodes,
      input: parts.inputs.map((v) => valueInfo(v.name, v.elemType, v.dims)),
      output: parts.outputs.map((v) => valueInfo(v.name, v.elemType, v.dims)),
      initializer: parts.initializers,
    },
  });
}

export interface ValueSpec {
  readonly name: string;
  readonly elemType: number;
  readonly dims: readonly Dim[];
}

/** Every tensor name the graph mentions, to keep new names from colliding. */
export function tensorNames(graph: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) if (v.name) names.add(v.name);
  for (const t of graph.initializer ?? []) if (t.name) names.add(t.name);
  for (const n of graph.node ?? []) for (const name of [...(n.input ?? []), ...(n.output ?? [])]) names.add(name);
  return names;
}

/**
 * Replaces graph input `oldName` with a new input; `nodes` (with their
 * initializers) must turn the new input into a tensor named `oldName`, so the
 * rest of the graph is untouched.
 */
export function replaceInput(
  graph: GraphProto,
  oldName: string,
  input: ValueSpec,
  nodes: NodeProto[],
  initializers: TensorProto[] = [],
): void {
  const index = (graph.input ?? []).findIndex((v) => v.name === oldName);
  if (index < 0) throw new Error(`graph has no input named ${oldName}`);
  const taken = tensorNames(graph);
  for (const name of [input.name, ...initializers.map((t) => t.name!), ...nodes.flatMap((n) => n.output ?? []).filter((o) => o !== oldName)]) {
    if (taken.has(name)) throw new Error(`tensor name ${name} already used in the graph`);
  }
  graph.input!.splice(index, 1, valueInfo(input.name, input.elemType, input.dims));
  graph.node = [...nodes, ...(graph.node ?? [])];
  graph.initializer = [...initializers, ...(graph.initializer ?? [])];
}

/** Renames a graph output everywhere it appears. */
export function renameOutput(graph: GraphProto, oldName: string, newName: string): void {
  const output = (graph.output ?? []).find((v) => v.name === oldName);
  if (!output) throw new Error(`graph has no output named ${oldName}`);
  if (tensorNames(graph).has(newName)) throw new Error(`tensor name ${newName} already used in the graph`);
  output.name = newName;
  for (const node of graph.node ?? []) {
    node.input = (node.input ?? []).map((n) => (n === oldName ? newName : n));
    node.output = (node.output ?? []).map((n) => (n === oldName ? newName : n));
  }
}

/** Makes dim 0 of every graph input and output the symbolic `param`. */
export function setDynamicBatch(graph: GraphProto, param = 'N'): void {
  for (const v of [...(graph.input ?? []), ...(graph.output ?? [])]) {
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims && dims.length > 0) dims[0] = { dimParam: param };
  }
}

/**
 * Reshape targets stored as constants that start with a literal batch of 1
 * get 0 instead ("copy the input's dim"), so N in gives N out. Returns how
 * many were changed.
 */
export function fixReshapeBatch(graph: GraphProto): number {
  const constants = new Map<string, TensorProto>();
  for (const t of graph.initializer ?? []) if (t.name) constants.set(t.name, t);
  for (const n of graph.node ?? []) {
    const t = n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
    if (t && n.output?.[0]) constants.set(n.output[0], t);
  }
  let changed = 0;
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Reshape') continue;
    const shape = constants.get(node.input?.[1] ?? '');
    if (!shape) continue;
    const values = int64Values(shape);
    if (values[0] !== 1) continue;
    setInt64Values(shape, [0, ...values.slice(1)]);
    changed++;
  }
  return changed;
}

/** Shapes recorded for intermediate tensors go stale once the batch is dynamic; ORT re-infers them. */
export function dropValueInfo(graph: GraphProto): void {
  graph.valueInfo = [];
}

/**
 * Sets every float weight with 0 < |w| < threshold to 0, in initializers and
 * Constant nodes, whether stored as float_data or little-endian raw_data.
 * Denormal weights make x86 float units take a slow microcode path; their
 * contribution to any output is far below float32 resolution. Returns the
 * number of values zeroed.
 */
export function zeroTinyFloats(graph: GraphProto, threshold = 1e-30): number {
  const tensors = [...(graph.initializer ?? [])];
  for (const n of graph.node ?? []) for (const a of n.attribute ?? []) if (a.t) tensors.push(a.t);
  let zeroed = 0;
  for (const t of tensors) {
    if (t.dataType !== DataType.FLOAT) continue;
    if (t.floatData && t.floatData.length > 0) {
      t.floatData = t.floatData.map((v) => (v !== 0 && Math.abs(v) < threshold ? (zeroed++, 0) : v));
    } else if (t.rawData && t.rawData.byteLength > 0) {
      const raw = new Uint8Array(t.rawData);
      const view = new DataView(raw.buffer);
      for (let off = 0; off < raw.byteLength; off += 4) {
        const v = view.getFloat32(off, true);
        if (v !== 0 && Math.abs(v) < threshold) {
          view.setFloat32(off, 0, true);
          zeroed++;
        }
      }
      t.rawData = raw;
    }
  }
  return zeroed;
}

export function setMetadata(model: ModelProto, entries: Record<string, string>): void {
  const kept = (model.metadataProps ?? []).filter((p) => !(p.key! in entries));
  model.metadataProps = [...kept, ...Object.entries(entries).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }))];
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}
