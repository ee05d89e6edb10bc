/** The equivalent ONNX graph of every built-in workload, by workload name. */
import { fluxAttentionGraph, llama3AttentionGraph } from "./attention.ts";
import { conv2dGraph, fluxConvGraph } from "./conv.ts";
import { deepseekMoeGraph, llama4ScoutMlpGraph } from "./gated-mlp.ts";
import type { OnnxGraphDef } from "./graph-def.ts";
import { batchMatmulGraph, batchMatmulNTGraph, matmulGraph } from "./matmul.ts";
import { layernormGraph, rmsnormGraph, softmaxGraph } from "./norms.ts";

const GRAPHS: Readonly<Record<string, OnnxGraphDef>> = {
  matmul: matmulGraph,
  "batch-matmul": batchMatmulGraph,
  "batch-matmul-nt": batchMatmulNTGraph,
  conv2d: conv2dGraph,
  softmax: softmaxGraph,
  rmsnorm: rmsnormGraph,
  layernorm: layernormGraph,
  "llama3-8b-attention": llama3AttentionGraph,
  "deepseek-r1-moe": deepseekMoeGraph,
  "flux-attention": fluxAttentionGraph,
  "flux-conv": fluxConvGraph,
  "llama4-scout-mlp": llama4ScoutMlpGraph,
};

export class NoOnnxGraphError extends Error {
  constructor(readonly workload: string) {
    super(
      `workload '${workload}' has no equivalent ONNX graph; 'colt compare' takes ${Object.keys(GRAPHS).join(", ")}`,
    );
    this.name = "NoOnnxGraphError";
  }
}

export function onnxGraphOf(workload: string): OnnxGraphDef {
  const def = GRAPHS[workload];
  if (!def) throw new NoOnnxGraphError(workload);
  return def;
}
