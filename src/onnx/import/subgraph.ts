/**
 * A task's nodes as an ONNX model of their own: the task's program inputs become graph
 * inputs (fed with the same seeded data as COLT's harness), the constants its nodes read
 * stay initializers, its outputs are graph outputs. ONNX Runtime runs it to check the
 * lowering of the task.
 */
import onnxProto from "onnx-proto";
import type { OnnxModel } from "../model.ts";
import type { ImportedModel, ImportedTask } from "./import-model.ts";

const { onnx } = onnxProto;

export function taskSubgraph(model: ImportedModel, task: ImportedTask): OnnxModel {
  const g = model.graph;
  const fed = new Set(task.inputs.map((i) => i.value));
  const produced = new Set(task.nodes.flatMap((n) => n.outputs));
  const constants: onnxProto.onnx.ITensorProto[] = [];
  const constantNodes: onnxProto.onnx.INodeProto[] = [];
  const seen = new Set<string>();
  for (const n of task.nodes) {
    for (const i of n.inputs) {
      if (!i || fed.has(i) || produced.has(i) || seen.has(i)) continue;
      seen.add(i);
      const init = g.graph.initializerProtos.get(i);
      const producer = g.producers.get(i);
      if (init) constants.push(init);
      else if (producer?.op === "Constant") constantNodes.push(producer.proto);
    }
  }
  const valueInfo = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: (g.shapes.get(name) ?? []).map((d) => ({ dimValue: d })) },
      },
    },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "colt",
    opsetImport: [{ domain: "", version: g.graph.opset }],
    graph: {
      name: task.name,
      node: [...constantNodes, ...task.nodes.map((n) => n.proto)],
      initializer: constants,
      input: task.inputs.map((i) => valueInfo(i.value)),
      output: task.outputs.map((o) => valueInfo(o.value)),
    },
  });
  return {
    bytes: onnx.ModelProto.encode(proto).finish(),
    feeds: task.inputs.map((i, inputIndex) => ({
      name: i.value,
      shape: g.shapes.get(i.value) ?? [],
      inputIndex,
    })),
    outputs: task.outputs.map((o) => o.value),
  };
}
