/**
 * ONNX export: exportOnnx(model, path?, opts?) writes a built model as an ONNX opset-17 graph for inference
 * (onnxruntime and other runtimes); export.ts states the layout and padding rules.
 */
export { exportOnnx, toOnnxModel, onnxSupportedLayers, OnnxExportError, ONNX_OPSET_VERSION, ONNX_IR_VERSION } from './export.js';
export type { ExportOnnxOptions } from './export.js';
export { encodeModel as encodeOnnxModel } from './onnx.js';
export type { OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo, OnnxAttribute } from './onnx.js';
