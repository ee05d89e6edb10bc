/** ONNX graphs of the row normalizations and the softmax, as PyTorch's exporter writes them. */
import { NORM_EPS } from "../workloads/operators/norms.ts";
import type { OnnxGraphDef } from "./graph-def.ts";

/** Llama's RMSNorm: x / sqrt(mean(x^2) + eps) * weight. */
export const rmsnormGraph: OnnxGraphDef = {
  weights: ["weight"],
  addNodes: (g) => {
    const squares = g.node("Pow", ["X", g.scalar(2)]);
    const meanSquare = g.node("ReduceMean", [squares], { axes: [-1], keepdims: 1 });
    const rms = g.node("Sqrt", [g.node("Add", [meanSquare, g.scalar(NORM_EPS)])]);
    return [g.node("Mul", [g.node("Div", ["X", rms]), "weight"])];
  },
};

export const layernormGraph: OnnxGraphDef = {
  weights: ["gamma", "beta"],
  addNodes: (g) => [
    g.node("LayerNormalization", ["X", "gamma", "beta"], {
      axis: -1,
      epsilon: { float: NORM_EPS },
    }),
  ],
};

export const softmaxGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g) => [g.node("Softmax", ["X"], { axis: -1 })],
};
