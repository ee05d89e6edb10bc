/**
 * Shape inference for the supported operators, and the list of every node the importer
 * refuses (unknown operator, unsupported variant, non-constant parameter), gathered in one
 * pass so that a model is refused at once, before anything is lowered.
 */
import type { ConstTensor, OnnxGraph, OnnxNode } from "./graph.ts";
import { intAttr, intsAttr, stringAttr } from "./graph.ts";
import { UnsupportedModelError, type Refusal } from "./errors.ts";
import {
  broadcastShapes,
  constScalar,
  expandShape,
  flattenShape,
  gemmParams,
  matmulShape,
  normAxis,
  OpParamError,
  reduceParams,
  reducedShape,
  reshapeTarget,
  constInts,
  sliceAxes,
  splitSizes,
  squeezeShape,
  transposePerm,
  unsqueezeShape,
  windowParams,
  type Shape,
} from "./op-params.ts";

export const UNARY_OPS = [
  "Sqrt",
  "Reciprocal",
  "Exp",
  "Erf",
  "Tanh",
  "Sigmoid",
  "Relu",
  "Gelu",
  "Neg",
] as const;
export const BINARY_OPS = ["Add", "Sub", "Mul", "Div", "Pow"] as const;
export const LAYOUT_OPS = [
  "Identity",
  "Transpose",
  "Reshape",
  "Flatten",
  "Split",
  "Expand",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Slice",
] as const;
/** Heavy operators that read each input element once, in one pass (norms, reductions, pooling). */
export const STREAMING_OPS = [
  "Softmax",
  "LayerNormalization",
  "ReduceMean",
  "ReduceSum",
  "ReduceMax",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
] as const;
export const HEAVY_OPS = ["MatMul", "Gemm", "Conv", ...STREAMING_OPS] as const;
export const SUPPORTED_OPS: readonly string[] = [
  ...UNARY_OPS,
  ...BINARY_OPS,
  ...LAYOUT_OPS,
  ...HEAVY_OPS,
  "Constant",
];

export const isLayout = (op: string) => (LAYOUT_OPS as readonly string[]).includes(op);
export const isHeavy = (op: string) => (HEAVY_OPS as readonly string[]).includes(op);
export const isArithmetic = (op: string) =>
  (UNARY_OPS as readonly string[]).includes(op) || (BINARY_OPS as readonly string[]).includes(op);

/** A graph with every value's static shape and every constant's data. */
export interface ShapedGraph {
  readonly graph: OnnxGraph;
  readonly shapes: ReadonlyMap<string, Shape>;
  /** Initializers and outputs of Constant nodes. */
  readonly consts: ReadonlyMap<string, ConstTensor>;
  /** The node producing each value. */
  readonly producers: ReadonlyMap<string, OnnxNode>;
  /** The nodes reading each value. */
  readonly consumers: ReadonlyMap<string, readonly OnnxNode[]>;
}

export function inferShapes(graph: OnnxGraph): ShapedGraph {
  const shapes = new Map<string, Shape>(graph.inputs);
  const consts = new Map<string, ConstTensor>(graph.initializers);
  for (const [name, t] of graph.initializers) shapes.set(name, t.dims);
  const producers = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  const refusals: Refusal[] = [];
  const lookup = (name: string) => consts.get(name);
  for (const n of graph.nodes) {
    for (const o of n.outputs) producers.set(o, n);
    for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    if (!SUPPORTED_OPS.includes(n.op)) {
      refusals.push({ node: n.name, op: n.op, reason: "operator not supported" });
      continue;
    }
    const ins = n.inputs.map((i) => (i ? shapes.get(i) : undefined));
    const missing = n.inputs.findIndex((name, k) => name !== "" && !ins[k]);
    // Its producer was refused already: one refusal per cause.
    if (missing >= 0) continue;
    try {
      if (n.op === "Constant") {
        const value = n.attrs.get("value");
        if (value?.k !== "tensor") throw new OpParamError("only a 'value' tensor is supported");
        consts.set(n.outputs[0], value.v);
        shapes.set(n.outputs[0], value.v.dims);
        continue;
      }
      const outs = outputShapes(n, ins as Shape[], lookup);
      outs.forEach((s, k) => shapes.set(n.outputs[k], s));
    } catch (e) {
      if (!(e instanceof OpParamError)) throw e;
      refusals.push({ node: n.name, op: n.op, reason: e.message });
    }
  }
  for (const o of graph.outputs) {
    if (!shapes.has(o) && refusals.length === 0)
      refusals.push({ node: o, op: "output", reason: "no node computes this graph output" });
  }
  if (refusals.length > 0) throw new UnsupportedModelError(graph.file, refusals);
  return { graph, shapes, consts, producers, consumers };
}

function outputShapes(
  n: OnnxNode,
  ins: Shape[],
  lookup: (name: string) => ConstTensor | undefined,
): Shape[] {
  const [x] = ins;
  if ((UNARY_OPS as readonly string[]).includes(n.op)) {
    if (n.op === "Gelu" && !["none", "tanh"].includes(stringAttr(n, "approximate", "none")))
      throw new OpParamError("unknown Gelu approximation");
    return [x];
  }
  if ((BINARY_OPS as readonly string[]).includes(n.op)) {
    if (n.op === "Pow" && constScalar(lookup, n.inputs[1]) === undefined)
      throw new OpParamError("the exponent must be a constant scalar");
    return [broadcastShapes(x, ins[1])];
  }
  switch (n.op) {
    case "Identity":
      return [x];
    case "Transpose":
      return [transposePerm(n, x.length).map((p) => x[p])];
    case "Reshape":
      return [reshapeTarget(n, x, constInts(lookup, n.inputs[1], "the shape of Reshape"))];
    case "Flatten":
      return [flattenShape(n, x)];
    case "Split": {
      const { axis, sizes } = splitSizes(n, lookup, x);
      return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
    }
    case "Expand":
      return [expandShape(lookup, n, x)];
    case "Unsqueeze":
      return [unsqueezeShape(n, lookup, x)];
    case "Squeeze":
      return [squeezeShape(n, lookup, x)];
    case "Concat": {
      const axis = normAxis(intAttr(n, "axis", 0), x.length);
      const total = ins.reduce((s, shape) => s + shape[axis], 0);
      return [x.map((d, i) => (i === axis ? total : d))];
    }
    case "Slice":
      return [sliceAxes(n, lookup, x).map((a) => a.extent)];
    case "MatMul":
      return [matmulShape(x, ins[1])];
    case "Gemm": {
      const p = gemmParams(n, x, ins[1], ins[2]);
      return [[p.M, p.N]];
    }
    case "Conv": {
      const w = ins[1];
      if (intAttr(n, "group", 1) !== 1) throw new OpParamError("group other than 1");
      if (w.length !== 4 || w[1] !== x[1]) throw new OpParamError("weights are not [F, C, KH, KW]");
      const p = windowParams(n, x, w.slice(2));
      return [[x[0], w[0], ...p.out]];
    }
    case "MaxPool":
    case "AveragePool": {
      if (n.outputs.length > 1 && n.outputs[1])
        throw new OpParamError("the Indices output is not supported");
      const kernel = intsAttr(n, "kernel_shape");
      if (!kernel || kernel.length !== 2)
        throw new OpParamError("kernel_shape must have 2 extents");
      const p = windowParams(n, x, kernel);
      const padded = (intsAttr(n, "pads") ?? []).some((v) => v !== 0);
      if (n.op === "AveragePool" && padded && intAttr(n, "count_include_pad", 0) === 0)
        throw new OpParamError("padding with count_include_pad 0 is not supported");
      return [[x[0], x[1], ...p.out]];
    }
    case "GlobalAveragePool":
      if (x.length !== 4) throw new OpParamError("only NCHW inputs are supported");
      return [[x[0], x[1], 1, 1]];
    case "Softmax":
      normAxis(intAttr(n, "axis", -1), x.length);
      return [x];
    case "LayerNormalization":
      if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => o))
        throw new OpParamError("the Mean and InvStdDev outputs are not supported");
      normAxis(intAttr(n, "axis", -1), x.length);
      return [x];
    case "ReduceMean":
    case "ReduceSum":
    case "ReduceMax":
      return [reducedShape(x, reduceParams(n, lookup, x))];
    default:
      throw new OpParamError("operator not supported");
  }
}
