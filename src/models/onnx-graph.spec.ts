import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DataType,
  decodeModel,
  encodeModel,
  fixReshapeBatch,
  floatTensor,
  int64Values,
  makeNode,
  onnx,
  renameOutput,
  setDynamicBatch,
  setInt64Values,
  zeroTinyFloats,
  type GraphProto,
} from './onnx-graph.js';

const DENORMAL = 1e-40;

function valueInfo(name: string, dims: number[]) {
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

function tinyGraph(): GraphProto {
  const shape = { name: 'shape', dataType: DataType.INT64, dims: [2] };
  setInt64Values(shape, [1, 512]);
  return {
    input: [valueInfo('x', [1, 512, 1, 1])],
    output: [valueInfo('output', [1, 512])],
    initializer: [shape, floatTensor('raw', [1, DENORMAL, -DENORMAL, 2e-30]), { name: 'list', dataType: DataType.FLOAT, dims: [3], floatData: [DENORMAL, 0.5, 0] }],
    node: [makeNode('Reshape', ['x', 'shape'], ['output'])],
  };
}

describe('zeroTinyFloats', () => {
  it('zeroes tiny values in raw_data and float_data and keeps the rest', () => {
    const graph = tinyGraph();
    assert.equal(zeroTinyFloats(graph), 3);
    const raw = graph.initializer!.find((t) => t.name === 'raw')!.rawData!;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    assert.deepEqual([0, 1, 2, 3].map((i) => view.getFloat32(i * 4, true)), [1, 0, 0, Math.fround(2e-30)]);
    assert.deepEqual(graph.initializer!.find((t) => t.name === 'list')!.floatData, [0, 0.5, 0]);
  });
});

describe('fixReshapeBatch', () => {
  it('turns a literal batch of 1 into 0 (copy the input dim) and leaves others', () => {
    const graph = tinyGraph();
    assert.equal(fixReshapeBatch(graph), 1);
    assert.deepEqual(int64Values(graph.initializer![0]!), [0, 512]);
    assert.equal(fixReshapeBatch(graph), 0);
  });
});

describe('setDynamicBatch and renameOutput', () => {
  it('survive an encode/decode round trip', () => {
    const graph = tinyGraph();
    setDynamicBatch(graph);
    renameOutput(graph, 'output', 'embedding');
    const model = decodeModel(encodeModel(onnx.ModelProto.create({ irVersion: 7, graph })));
    assert.equal(model.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam, 'N');
    assert.equal(model.graph!.output![0]!.name, 'embedding');
    assert.equal(model.graph!.output![0]!.type!.tensorType!.shape!.dim![0]!.dimParam, 'N');
    assert.deepEqual(model.graph!.node![0]!.output, ['embedding']);
  });

  it('refuses a name already in the graph', () => {
    assert.throws(() => renameOutput(tinyGraph(), 'output', 'shape'), /already used/);
  });
});
