/**
 * ONNX graphs of the SiLU-gated MLPs: MatMul against [in, out] weights (PyTorch's
 * exporter folds nn.Linear's transpose into the initializer), SiLU as x * Sigmoid(x).
 */
import type { GraphBuilder } from "./graph-builder.ts";
import type { OnnxGraphDef } from "./graph-def.ts";

function gatedMlp(g: GraphBuilder, x: string, gate: string, up: string, down: string): string {
  const gated = g.node("MatMul", [x, gate]);
  const silu = g.node("Mul", [gated, g.node("Sigmoid", [gated])]);
  const act = g.node("Mul", [silu, g.node("MatMul", [x, up])]);
  return g.node("MatMul", [act, down]);
}

export const llama4ScoutMlpGraph: OnnxGraphDef = {
  weights: ["Wg", "Wu", "Wd"],
  addNodes: (g) => [gatedMlp(g, "X", "Wg", "Wu", "Wd")],
};

/**
 * The routing the workload defines: sigmoid scores over all experts (the router weight
 * stored [experts, hidden], hence Gemm with transB), expert 0's FFN scaled by its score.
 */
export const deepseekMoeGraph: OnnxGraphDef = {
  weights: ["Wr", "W1", "W2", "W3"],
  addNodes: (g) => {
    const scores = g.node("Sigmoid", [g.node("Gemm", ["X", "Wr"], { transB: 1 })]);
    const expertScore = g.node("Slice", [scores, g.int64s([0]), g.int64s([1]), g.int64s([1])]);
    const expert = gatedMlp(g, "X", "W1", "W3", "W2");
    return [g.node("Mul", [expert, expertScore]), scores];
  },
};
