/**
 * ONNX messages as plain objects, and their protobuf encoding (protobuf.ts). Field numbers are those of
 * onnx.proto3 (github.com/onnx/onnx, onnx/onnx.proto3; the same numbers as onnx.proto), cited at each write.
 * Only what an exported inference graph needs: ModelProto, OperatorSetIdProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto (raw_data only), ValueInfoProto, TypeProto.Tensor, TensorShapeProto,
 * StringStringEntryProto.
 */
import { ValueError } from '../../errors.js';
import { Writer, float32LE, int64LE } from './protobuf.js';

/** TensorProto.DataType values (onnx.proto3 `enum DataType`). */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** AttributeProto.AttributeType values (onnx.proto3 `enum AttributeType`). */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export type OnnxAttribute =
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'ints'; value: readonly number[] }
  | { name: string; type: 'floats'; value: readonly number[] }
  | { name: string; type: 'tensor'; value: OnnxTensor };

export interface OnnxNode {
  opType: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: readonly OnnxAttribute[];
  docString?: string;
}

export interface OnnxTensor {
  name: string;
  dataType: DataTypeCode;
  dims: readonly number[];
  /** The elements, little-endian, row-major (TensorProto.raw_data). */
  raw: Uint8Array;
}

/** A graph input or output: element type and shape, each dimension a length, a symbolic name, or unknown (null). */
export interface OnnxValueInfo {
  name: string;
  elemType: DataTypeCode;
  shape: readonly (number | string | null)[];
  docString?: string;
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  /** The default ("ai.onnx") domain's opset version. */
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

// --- tensors --------------------------------------------------------------------------------------

/** A float32 tensor from values in row-major order. */
export function floatTensor(name: string, dims: readonly number[], values: Float32Array): OnnxTensor {
  checkCount(name, dims, values.length);
  return { name, dataType: DataType.FLOAT, dims: [...dims], raw: float32LE(values) };
}

/** An int64 tensor (shapes, pads, axes given as inputs). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): OnnxTensor {
  checkCount(name, dims, values.length);
  return { name, dataType: DataType.INT64, dims: [...dims], raw: int64LE(values) };
}

function checkCount(name: string, dims: readonly number[], n: number): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== n) throw new ValueError(`onnx: tensor '${name}' has ${n} values for dims [${dims.join(',')}]`);
}

// --- attributes -----------------------------------------------------------------------------------

export const attr = {
  int: (name: string, value: number): OnnxAttribute => ({ name, type: 'int', value }),
  float: (name: string, value: number): OnnxAttribute => ({ name, type: 'float', value }),
  string: (name: string, value: string): OnnxAttribute => ({ name, type: 'string', value }),
  ints: (name: string, value: readonly number[]): OnnxAttribute => ({ name, type: 'ints', value: [...value] }),
  floats: (name: string, value: readonly number[]): OnnxAttribute => ({ name, type: 'floats', value: [...value] }),
  tensor: (name: string, value: OnnxTensor): OnnxAttribute => ({ name, type: 'tensor', value }),
};

// --- encoding -------------------------------------------------------------------------------------

/** TensorProto: dims = 1 (packed int64), data_type = 2, name = 8, raw_data = 9. */
function writeTensor(w: Writer, t: OnnxTensor): void {
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

/**
 * AttributeProto: name = 1, f = 2, i = 3, s = 4, t = 5, floats = 7 (packed), ints = 8 (packed), type = 20
 * (the checker requires the type discriminator).
 */
function writeAttribute(w: Writer, a: OnnxAttribute): void {
  w.string(1, a.name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value);
      w.int(20, AttributeType.FLOAT);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, AttributeType.INT);
      break;
    case 'string':
      w.string(4, a.value);
      w.int(20, AttributeType.STRING);
      break;
    case 'tensor':
      w.message(5, (m) => writeTensor(m, a.value));
      w.int(20, AttributeType.TENSOR);
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      w.int(20, AttributeType.FLOATS);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      w.int(20, AttributeType.INTS);
      break;
  }
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, doc_string = 6. */
function writeNode(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a));
  if (n.docString !== undefined) w.string(6, n.docString);
}

/**
 * ValueInfoProto: name = 1, type = 2, doc_string = 3. TypeProto: tensor_type = 1; TypeProto.Tensor: elem_type = 1,
 * shape = 2; TensorShapeProto: dim = 1; Dimension: dim_value = 1, dim_param = 2 (neither for an unknown length).
 */
function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, v.elemType);
    tensor.message(2, (shape) => {
      for (const d of v.shape) {
        shape.message(1, (dim) => {
          if (typeof d === 'number') dim.int(1, d);
          else if (typeof d === 'string') dim.string(2, d);
        });
      }
    });
  }));
  if (v.docString !== undefined) w.string(3, v.docString);
}

/** GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
function writeGraph(w: Writer, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  if (g.docString !== undefined) w.string(10, g.docString);
  for (const i of g.inputs) w.message(11, (m) => writeValueInfo(m, i));
  for (const o of g.outputs) w.message(12, (m) => writeValueInfo(m, o));
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7,
 * opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2), metadata_props = 14 (StringStringEntryProto:
 * key = 1, value = 2).
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  if (model.docString !== undefined) w.string(6, model.docString);
  w.message(7, (g) => writeGraph(g, model.graph));
  w.message(8, (o) => {
    o.string(1, '');
    o.int(2, model.opsetVersion);
  });
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (e) => {
      e.string(1, key);
      e.string(2, value);
    });
  }
  return w.finish();
}
