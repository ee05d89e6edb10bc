/** ONNX graphs of the matrix products: MatMul, batched, and against a transposed operand. */
import type { OnnxGraphDef } from "./graph-def.ts";

// Both operands are activations (attention's products multiply activations): graph inputs.
export const matmulGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g) => [g.node("MatMul", ["A", "B"])],
};

export const batchMatmulGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g) => [g.node("MatMul", ["A", "Bm"])],
};

export const batchMatmulNTGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g) => [g.node("MatMul", ["A", g.node("Transpose", ["Bm"], { perm: [0, 2, 1] })])],
};
