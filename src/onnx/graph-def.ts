/** The shape of an ONNX graph definition, shared by the graph registry and every family module. */
import type { ShapeParams } from "../workloads/workload-def.ts";
import type { GraphBuilder } from "./graph-builder.ts";

export interface OnnxGraphDef {
  /** Program inputs that are model parameters: stored in the model as initializers. */
  readonly weights: readonly string[];
  /**
   * Adds the nodes computing the workload from tensors named like the program's inputs,
   * and returns the names of its outputs in the program's output order.
   */
  addNodes(g: GraphBuilder, params: ShapeParams): readonly string[];
}
