/**
 * Scaled dot-product attention as a DAG of stages:
 *   scores = Q·K^T, logits = scores / sqrt(d) (causally masked), row max, exp, row sum,
 *   probs = exp / sum, O = probs·V.
 * Head axes are a prefix of every tensor's index; grouped-query attention maps the query
 * head axes (g, r) to the kv head axis g, so every index stays affine.
 */
import {
  divide,
  exp,
  icmp,
  minus,
  ProgramBuilder,
  select,
  times,
  type TensorRef,
} from "../../ir/builder.ts";
import type { IntExpr } from "../../ir/int-expr.ts";
import type { Program } from "../../ir/program.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

interface AttentionSpec {
  /** Query head axes and extents, e.g. { g: 8, r: 4 } or { h: 24 }. */
  readonly heads: Readonly<Record<string, number>>;
  /** Extents of the kv head axes, indexed by `kvHeads`. */
  readonly kvHeadShape: readonly number[];
  /** The kv head index of a query head. */
  kvHeads(vars: Readonly<Record<string, IntExpr>>): IntExpr[];
  readonly seq: number;
  readonly headDim: number;
  readonly causal: boolean;
}

function buildAttention(b: ProgramBuilder, spec: AttentionSpec): Program {
  const headNames = Object.keys(spec.heads);
  const headShape = Object.values(spec.heads);
  const { seq, headDim } = spec;
  const Q = b.input("Q", [...headShape, seq, headDim]);
  const K = b.input("K", [...spec.kvHeadShape, seq, headDim]);
  const V = b.input("V", [...spec.kvHeadShape, seq, headDim]);
  const headIndex = (v: Record<string, IntExpr>) => headNames.map((h) => v[h]);
  // Reads a per-query-head tensor: head indices first, then the rest.
  const at = (t: TensorRef, v: Record<string, IntExpr>, ...rest: IntExpr[]) =>
    t.at(...headIndex(v), ...rest);

  const scores = b.reduce("scores", { ...spec.heads, s: seq, t: seq }, { d: headDim }, "sum", (v) =>
    times(at(Q, v, v.s, v.d), K.at(...spec.kvHeads(v), v.t, v.d)),
  );
  const scale = 1 / Math.sqrt(headDim);
  // A masked key gets -inf, so its exp is exactly 0; key 0 is never masked, so no row is all -inf.
  const logits = b.compute("logits", { ...spec.heads, s: seq, t: seq }, (v) => {
    const scaled = times(at(scores, v, v.s, v.t), scale);
    return spec.causal ? select(icmp(v.t, "<=", v.s), scaled, -Infinity) : scaled;
  });
  const rowMax = b.reduce("row_max", { ...spec.heads, s: seq }, { t: seq }, "max", (v) =>
    at(logits, v, v.s, v.t),
  );
  const expScores = b.compute("exp_scores", { ...spec.heads, s: seq, t: seq }, (v) =>
    exp(minus(at(logits, v, v.s, v.t), at(rowMax, v, v.s))),
  );
  const rowSum = b.reduce("row_sum", { ...spec.heads, s: seq }, { t: seq }, "sum", (v) =>
    at(expScores, v, v.s, v.t),
  );
  const probs = b.compute("probs", { ...spec.heads, s: seq, t: seq }, (v) =>
    divide(at(expScores, v, v.s, v.t), at(rowSum, v, v.s)),
  );
  const O = b.reduce("O", { ...spec.heads, s: seq, d: headDim }, { t: seq }, "sum", (v) =>
    times(at(probs, v, v.s, v.t), V.at(...spec.kvHeads(v), v.t, v.d)),
  );
  return b.build([O]);
}

export const llama3Attention: WorkloadDef = {
  name: "llama3-8b-attention",
  kind: "layer",
  description: "Llama-3-8B grouped-query causal self-attention (8 kv heads x 4 query heads each)",
  source:
    "meta-llama/Meta-Llama-3-8B config.json: num_attention_heads=32, num_key_value_heads=8, " +
    "hidden_size=4096 (head dim 4096/32=128); prefill of 1024 tokens",
  sizes: {
    small: { G: 2, R: 2, S: 28, D: 16 },
    // Medium: the grouping kept (4 query heads per kv head), 256 tokens, head dim 64.
    medium: { G: 2, R: 4, S: 256, D: 64 },
    paper: { G: 8, R: 4, S: 1024, D: 128 },
  },
  build(params) {
    const { G, R, S, D } = requireParams("llama3-8b-attention", params, ["G", "R", "S", "D"]);
    return buildAttention(new ProgramBuilder("llama3_8b_attention", { G, R, S, D }), {
      heads: { g: G, r: R },
      kvHeadShape: [G],
      kvHeads: (v) => [v.g],
      seq: S,
      headDim: D,
      causal: true,
    });
  },
};

export const fluxAttention: WorkloadDef = {
  name: "flux-attention",
  kind: "layer",
  description: "FLUX.1 DiT multi-head attention over image tokens, no mask",
  source:
    "black-forest-labs/FLUX.1-dev transformer/config.json: num_attention_heads=24, " +
    "attention_head_dim=128; 1024 tokens = a 512x512 image (VAE /8 -> 64x64 latent, 2x2 patches -> 32x32)",
  sizes: {
    small: { H: 3, S: 40, D: 16 },
    // Medium: the real head dim, 4 heads, 256 tokens.
    medium: { H: 4, S: 256, D: 128 },
    paper: { H: 24, S: 1024, D: 128 },
  },
  build(params) {
    const { H, S, D } = requireParams("flux-attention", params, ["H", "S", "D"]);
    return buildAttention(new ProgramBuilder("flux_attention", { H, S, D }), {
      heads: { h: H },
      kvHeadShape: [H],
      kvHeads: (v) => [v.h],
      seq: S,
      headDim: D,
      causal: false,
    });
  },
};
