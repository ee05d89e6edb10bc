/**
 * ONNX graphs of scaled dot-product attention: MatMul with K transposed, Mul by the scale,
 * the causal mask added (-inf above the diagonal), Softmax, MatMul with V. Grouped-query
 * attention broadcasts the kv heads over the query heads of a group (K, V unsqueezed to
 * [G, 1, S, D]) instead of copying them.
 */
import type { GraphBuilder } from "./graph-builder.ts";
import type { OnnxGraphDef } from "./graph-def.ts";

interface AttentionGraph {
  /** Rank of Q (head axes + seq + head dim). */
  readonly rank: number;
  /** K and V as they enter the products, broadcastable against Q's head axes. */
  kv(g: GraphBuilder, name: "K" | "V"): string;
  readonly seq: number;
  readonly headDim: number;
  readonly causal: boolean;
}

function causalMask(g: GraphBuilder, seq: number): string {
  const mask = new Float32Array(seq * seq);
  for (let s = 0; s < seq; s++) mask.fill(-Infinity, s * seq + s + 1, (s + 1) * seq);
  return g.weight("causal_mask", [seq, seq], mask);
}

function attention(g: GraphBuilder, a: AttentionGraph): string {
  const perm = [...Array(a.rank).keys()];
  [perm[a.rank - 2], perm[a.rank - 1]] = [perm[a.rank - 1], perm[a.rank - 2]];
  const keysT = g.node("Transpose", [a.kv(g, "K")], { perm });
  const scores = g.node("MatMul", ["Q", keysT]);
  const scaled = g.node("Mul", [scores, g.scalar(1 / Math.sqrt(a.headDim))]);
  const logits = a.causal ? g.node("Add", [scaled, causalMask(g, a.seq)]) : scaled;
  const probs = g.node("Softmax", [logits], { axis: -1 });
  return g.node("MatMul", [probs, a.kv(g, "V")]);
}

export const llama3AttentionGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g, p) => [
    attention(g, {
      rank: 4,
      kv: (b, name) => b.node("Unsqueeze", [name, b.int64s([1])]),
      seq: p.S,
      headDim: p.D,
      causal: true,
    }),
  ],
};

export const fluxAttentionGraph: OnnxGraphDef = {
  weights: [],
  addNodes: (g, p) => [
    attention(g, { rank: 3, kv: (_, name) => name, seq: p.S, headDim: p.D, causal: false }),
  ],
};
