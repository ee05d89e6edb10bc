/** ONNX graphs of the convolutions: one Conv node, the bias as its third input. */
import type { GraphBuilder } from "./graph-builder.ts";
import type { OnnxGraphDef } from "./graph-def.ts";

function conv(
  g: GraphBuilder,
  inputs: readonly string[],
  kernel: readonly [number, number],
  stride: number,
  pad: number,
): string {
  return g.node("Conv", inputs, {
    kernel_shape: kernel,
    strides: [stride, stride],
    pads: [pad, pad, pad, pad],
  });
}

export const conv2dGraph: OnnxGraphDef = {
  weights: ["Wt"],
  addNodes: (g, p) => [conv(g, ["X", "Wt"], [p.KH, p.KW], p.stride, p.pad)],
};

/** flux-conv: 3x3, stride 1, pad 1 (fixed by the workload). */
export const fluxConvGraph: OnnxGraphDef = {
  weights: ["Wt", "bias"],
  addNodes: (g) => [conv(g, ["X", "Wt", "bias"], [3, 3], 1, 1)],
};
