/** The heavy ONNX operators as IR stages: contractions, windows, reductions and norms. */
import {
  minus,
  plus,
  ProgramBuilder,
  rsqrt,
  times,
  divide,
  exp,
  and,
  icmp,
  select,
  type TensorRef,
} from "../../ir/builder.ts";
import { add, intConst, mul, type IntExpr } from "../../ir/int-expr.ts";
import { floatAttr, intAttr, intsAttr, type OnnxNode } from "./graph.ts";
import {
  gemmParams,
  matmulShape,
  normAxis,
  reducedShape,
  windowParams,
  type ReduceParams,
  type Shape,
} from "./op-params.ts";
import { broadcastIndex, broadcastTo, clampIndex, view, type View } from "./view.ts";

/** The program being built and a source of unique stage names. */
export interface StageContext {
  readonly b: ProgramBuilder;
  fresh(base: string): string;
}

type Vars = Record<string, IntExpr>;
const axes = (prefix: string, shape: Shape): Record<string, number> =>
  Object.fromEntries(shape.map((e, d) => [`${prefix}${d}`, e]));
const varsOf = (v: Vars, prefix: string, n: number): IntExpr[] =>
  Array.from({ length: n }, (_, d) => v[`${prefix}${d}`]);
const refView = (t: TensorRef): View & { readonly stage: string } => ({
  shape: t.shape,
  at: (idx) => t.at(...idx),
  stage: t.name,
});
const count = (s: Shape) => s.reduce((n, d) => n * d, 1);

export function matmulStage(ctx: StageContext, a: View, b: View): View {
  const out = matmulShape(a.shape, b.shape);
  const rank = out.length;
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const batch = rank - (aRank > 1 ? 1 : 0) - (bRank > 1 ? 1 : 0);
  const t = ctx.b.reduce(
    ctx.fresh("matmul"),
    axes("i", out),
    { k: a.shape[aRank - 1] },
    "sum",
    (v: Vars) => {
      const o = varsOf(v, "i", rank);
      const batchIdx = o.slice(0, batch);
      const aIdx =
        aRank === 1 ? [v.k] : [...broadcastIndex(a.shape.slice(0, -2), batchIdx), o[batch], v.k];
      const bIdx =
        bRank === 1 ? [v.k] : [...broadcastIndex(b.shape.slice(0, -2), batchIdx), v.k, o[rank - 1]];
      return times(a.at(aIdx), b.at(bIdx));
    },
  );
  return refView(t);
}

export function gemmStages(
  ctx: StageContext,
  n: OnnxNode,
  a: View,
  b: View,
  c: View | undefined,
): View {
  const p = gemmParams(n, a.shape, b.shape, c?.shape);
  const sum = ctx.b.reduce(
    ctx.fresh("gemm"),
    { i0: p.M, i1: p.N },
    { k: p.K },
    "sum",
    ({ i0, i1, k }) =>
      times(a.at(p.transA ? [k, i0] : [i0, k]), b.at(p.transB ? [i1, k] : [k, i1])),
  );
  if (!c && p.alpha === 1) return refView(sum);
  const scaled = (i0: IntExpr, i1: IntExpr) =>
    p.alpha === 1 ? sum.at(i0, i1) : times(p.alpha, sum.at(i0, i1));
  const cc = c ? broadcastTo(c, [p.M, p.N]) : undefined;
  const out = ctx.b.compute(ctx.fresh("gemm_out"), { i0: p.M, i1: p.N }, ({ i0, i1 }) =>
    cc
      ? plus(scaled(i0, i1), p.beta === 1 ? cc.at([i0, i1]) : times(p.beta, cc.at([i0, i1])))
      : scaled(i0, i1),
  );
  return refView(out);
}

export function convStages(
  ctx: StageContext,
  n: OnnxNode,
  x: View,
  w: View,
  bias: View | undefined,
): View {
  const [N, C, H, W] = x.shape;
  const F = w.shape[0];
  const p = windowParams(n, x.shape, w.shape.slice(2));
  const conv = ctx.b.reduce(
    ctx.fresh("conv"),
    { i0: N, i1: F, i2: p.out[0], i3: p.out[1] },
    { c: C, ky: p.kernel[0], kx: p.kernel[1] },
    "sum",
    ({ i0, i1, i2, i3, c, ky, kx }) => {
      const y = add(mul(i2, p.strides[0]), ky, -p.padBegin[0]);
      const xx = add(mul(i3, p.strides[1]), kx, -p.padBegin[1]);
      const product = times(x.at([i0, c, y, xx]), w.at([i1, c, ky, kx]));
      if (!p.padded) return product;
      const inside = and(
        and(icmp(y, ">=", 0), icmp(y, "<", H)),
        and(icmp(xx, ">=", 0), icmp(xx, "<", W)),
      );
      return select(inside, product, 0);
    },
  );
  if (!bias) return refView(conv);
  const out = ctx.b.compute(ctx.fresh("conv_bias"), axes("i", conv.shape), (v: Vars) =>
    plus(conv.at(...varsOf(v, "i", 4)), bias.at([v.i1])),
  );
  return refView(out);
}

/** MaxPool reads padded positions as their nearest element inside, which never changes the max. */
export function poolStage(ctx: StageContext, n: OnnxNode, x: View): View {
  const [N, C, H, W] = x.shape;
  const kernel = intsAttr(n, "kernel_shape") ?? [1, 1];
  const p = windowParams(n, x.shape, kernel);
  const isMax = n.op === "MaxPool";
  const t = ctx.b.reduce(
    ctx.fresh(isMax ? "maxpool" : "avgpool"),
    { i0: N, i1: C, i2: p.out[0], i3: p.out[1] },
    { ky: kernel[0], kx: kernel[1] },
    isMax ? "max" : "sum",
    ({ i0, i1, i2, i3, ky, kx }) => {
      const y = add(mul(i2, p.strides[0]), ky, -p.padBegin[0]);
      const xx = add(mul(i3, p.strides[1]), kx, -p.padBegin[1]);
      if (isMax) return x.at([i0, i1, clampIndex(y, H), clampIndex(xx, W)]);
      const inside = and(
        and(icmp(y, ">=", 0), icmp(y, "<", H)),
        and(icmp(xx, ">=", 0), icmp(xx, "<", W)),
      );
      const value = times(x.at([i0, i1, y, xx]), 1 / (kernel[0] * kernel[1]));
      return p.padded ? select(inside, value, 0) : value;
    },
  );
  return refView(t);
}

export function globalAveragePoolStage(ctx: StageContext, x: View): View {
  const [N, C, H, W] = x.shape;
  const t = ctx.b.reduce(
    ctx.fresh("avgpool"),
    { i0: N, i1: C, i2: 1, i3: 1 },
    { y: H, x: W },
    "sum",
    (v) => times(x.at([v.i0, v.i1, v.y, v.x]), 1 / (H * W)),
  );
  return refView(t);
}

/** A reduction over `p.axes`; `mean` scales each term by 1/count. */
export function reduceStage(
  ctx: StageContext,
  name: string,
  x: View,
  p: ReduceParams,
  combiner: "sum" | "max",
  mean: boolean,
): View {
  const out = reducedShape(x.shape, p);
  const reduced = p.axes.map((a) => x.shape[a]);
  const scale = 1 / count(reduced);
  const t = ctx.b.reduce(
    ctx.fresh(name),
    axes("i", out),
    axes("r", reduced),
    combiner,
    (v: Vars) => {
      const o = varsOf(v, "i", out.length);
      let next = 0;
      const idx = x.shape.map((_, d) => {
        const k = p.axes.indexOf(d);
        if (k >= 0) {
          if (p.keepdims) next++;
          return v[`r${k}`];
        }
        return o[next++];
      });
      return mean ? times(x.at(idx), scale) : x.at(idx);
    },
  );
  return refView(t);
}

/** Softmax over one axis: max, sum of exponentials, quotient. */
export function softmaxStages(ctx: StageContext, n: OnnxNode, x: View): View {
  const axis = normAxis(intAttr(n, "axis", -1), x.shape.length);
  const p = { axes: [axis], keepdims: true };
  const max = reduceStage(ctx, "softmax_max", x, p, "max", false);
  const at0 = (idx: readonly IntExpr[]) => idx.map((ix, d) => (d === axis ? intConst(0) : ix));
  const shifted = view(x.shape, (idx) => exp(minus(x.at(idx), max.at(at0(idx)))));
  const sum = reduceStage(ctx, "softmax_sum", shifted, p, "sum", false);
  const out = ctx.b.compute(ctx.fresh("softmax"), axes("i", x.shape), (v: Vars) => {
    const idx = varsOf(v, "i", x.shape.length);
    return divide(shifted.at(idx), sum.at(at0(idx)));
  });
  return refView(out);
}

/** LayerNormalization over the axes from `axis` on: mean, variance, scale and bias. */
export function layerNormStages(
  ctx: StageContext,
  n: OnnxNode,
  x: View,
  scale: View,
  bias: View | undefined,
): View {
  const rank = x.shape.length;
  const axis = normAxis(intAttr(n, "axis", -1), rank);
  const eps = floatAttr(n, "epsilon", 1e-5);
  const p = { axes: x.shape.map((_, d) => d).filter((d) => d >= axis), keepdims: true };
  const at0 = (idx: readonly IntExpr[]) => idx.map((ix, d) => (d >= axis ? intConst(0) : ix));
  const mean = reduceStage(ctx, "ln_mean", x, p, "sum", true);
  const centered = view(x.shape, (idx) => minus(x.at(idx), mean.at(at0(idx))));
  const squared = view(x.shape, (idx) => times(centered.at(idx), centered.at(idx)));
  const variance = reduceStage(ctx, "ln_var", squared, p, "sum", true);
  const out = ctx.b.compute(ctx.fresh("layernorm"), axes("i", x.shape), (v: Vars) => {
    const idx = varsOf(v, "i", rank);
    const inIdx = idx.slice(axis);
    const normalized = times(
      times(centered.at(idx), rsqrt(plus(variance.at(at0(idx)), eps))),
      scale.at(broadcastIndex(scale.shape, inIdx)),
    );
    return bias ? plus(normalized, bias.at(broadcastIndex(bias.shape, inIdx))) : normalized;
  });
  return refView(out);
}

/** A stage holding a view's values: a task output, or a value read more than once. */
export function materialize(
  ctx: StageContext,
  base: string,
  v: View,
): View & { readonly stage: string } {
  const t = ctx.b.compute(ctx.fresh(base), axes("i", v.shape), (vars: Vars) =>
    v.at(varsOf(vars, "i", v.shape.length)),
  );
  return refView(t);
}
