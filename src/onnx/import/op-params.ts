/**
 * The static parameters of each supported operator, resolved from its attributes and
 * constant inputs against its input shapes. Shape inference and lowering both read them,
 * so the two cannot disagree; an unsupported variant throws OpParamError (the reason).
 */
import {
  floatAttr,
  intAttr,
  intsAttr,
  stringAttr,
  type ConstTensor,
  type OnnxNode,
} from "./graph.ts";

export class OpParamError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "OpParamError";
  }
}

export type Shape = readonly number[];
export type ConstLookup = (name: string) => ConstTensor | undefined;

const elements = (s: Shape) => s.reduce((n, d) => n * d, 1);

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OpParamError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Multidirectional (numpy) broadcasting. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    let extent = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + d] ?? 1;
      if (e !== 1 && extent !== 1 && e !== extent)
        throw new OpParamError(
          `shapes [${shapes.map((x) => x.join(",")).join("] and [")}] do not broadcast`,
        );
      if (e !== 1) extent = e;
    }
    out.push(extent);
  }
  return out;
}

export function constInts(
  lookup: ConstLookup,
  name: string | undefined,
  what: string,
): readonly number[] {
  const t = name ? lookup(name) : undefined;
  if (!t?.ints) throw new OpParamError(`${what} must be a constant int64 tensor`);
  return t.ints;
}

/** The scalar value of a constant float input, or undefined when it is not one. */
export function constScalar(lookup: ConstLookup, name: string): number | undefined {
  const t = lookup(name);
  return t?.floats && t.floats.length === 1 ? t.floats[0] : undefined;
}

export function matmulShape(a: Shape, b: Shape): number[] {
  if (a.length === 0 || b.length === 0) throw new OpParamError("MatMul of a scalar");
  const k = a[a.length - 1];
  const kb = b.length === 1 ? b[0] : b[b.length - 2];
  if (k !== kb) throw new OpParamError(`inner dimensions ${k} and ${kb} differ`);
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  return [
    ...batch,
    ...(a.length > 1 ? [a[a.length - 2]] : []),
    ...(b.length > 1 ? [b[b.length - 1]] : []),
  ];
}

export interface GemmParams {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
  readonly beta: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
}

export function gemmParams(n: OnnxNode, a: Shape, b: Shape, c: Shape | undefined): GemmParams {
  if (a.length !== 2 || b.length !== 2) throw new OpParamError("Gemm takes 2-D A and B");
  const transA = intAttr(n, "transA", 0) === 1;
  const transB = intAttr(n, "transB", 0) === 1;
  const [M, K] = transA ? [a[1], a[0]] : [a[0], a[1]];
  const [Kb, N] = transB ? [b[1], b[0]] : [b[0], b[1]];
  if (K !== Kb) throw new OpParamError(`inner dimensions ${K} and ${Kb} differ`);
  if (c) broadcastShapes([M, N], c);
  return {
    transA,
    transB,
    alpha: floatAttr(n, "alpha", 1),
    beta: floatAttr(n, "beta", 1),
    M,
    N,
    K,
  };
}

/** Target shape of Reshape: 0 copies the input's extent (unless allowzero), -1 is inferred. */
export function reshapeTarget(n: OnnxNode, input: Shape, spec: readonly number[]): number[] {
  if (intAttr(n, "allowzero", 0) === 1 && spec.includes(0))
    throw new OpParamError("allowzero with a zero extent is not supported");
  const out = spec.map((d, i) => (d === 0 ? input[i] : d));
  const unknown = out.indexOf(-1);
  const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  if (unknown >= 0) out[unknown] = elements(input) / known;
  if (out.some((d) => !Number.isInteger(d) || d < 1) || elements(out) !== elements(input))
    throw new OpParamError(`cannot reshape [${input.join(",")}] to [${spec.join(",")}]`);
  return out;
}

export function transposePerm(n: OnnxNode, rank: number): readonly number[] {
  const perm = intsAttr(n, "perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank || new Set(perm).size !== rank || perm.some((p) => p < 0 || p >= rank))
    throw new OpParamError(`perm [${perm.join(",")}] is not a permutation of rank ${rank}`);
  return perm;
}

/** Axes given as an attribute (older opsets) or as a constant second input (newer ones). */
export function axesOf(n: OnnxNode, lookup: ConstLookup, rank: number): number[] | undefined {
  const attr = intsAttr(n, "axes");
  const given = attr ?? (n.inputs[1] ? constInts(lookup, n.inputs[1], "axes") : undefined);
  return given?.map((a) => normAxis(a, rank));
}

export function squeezeShape(n: OnnxNode, lookup: ConstLookup, input: Shape): number[] {
  const axes = axesOf(n, lookup, input.length) ?? input.flatMap((d, i) => (d === 1 ? [i] : []));
  if (axes.some((a) => input[a] !== 1))
    throw new OpParamError("squeezes an axis of extent other than 1");
  return input.filter((_, i) => !axes.includes(i));
}

export function unsqueezeShape(n: OnnxNode, lookup: ConstLookup, input: Shape): number[] {
  const rank = input.length + (axesOf(n, lookup, 1 << 20)?.length ?? 0);
  const axes = axesOf(n, lookup, rank);
  if (!axes) throw new OpParamError("Unsqueeze needs axes");
  const out: number[] = [];
  let next = 0;
  for (let d = 0; d < rank; d++) out.push(axes.includes(d) ? 1 : input[next++]);
  return out;
}

export function flattenShape(n: OnnxNode, input: Shape): number[] {
  const axis = intAttr(n, "axis", 1);
  const a = axis < 0 ? axis + input.length : axis;
  return [elements(input.slice(0, a)), elements(input.slice(a))];
}

export function expandShape(lookup: ConstLookup, n: OnnxNode, input: Shape): number[] {
  return broadcastShapes(input, constInts(lookup, n.inputs[1], "the shape of Expand"));
}

export interface SliceAxis {
  readonly start: number;
  readonly step: number;
  readonly extent: number;
}

/** Per input axis: first index, step and output extent (constant starts, ends, axes, steps). */
export function sliceAxes(n: OnnxNode, lookup: ConstLookup, input: Shape): SliceAxis[] {
  const starts = constInts(lookup, n.inputs[1], "starts of Slice");
  const ends = constInts(lookup, n.inputs[2], "ends of Slice");
  const axes = n.inputs[3]
    ? constInts(lookup, n.inputs[3], "axes of Slice")
    : starts.map((_, i) => i);
  const steps = n.inputs[4]
    ? constInts(lookup, n.inputs[4], "steps of Slice")
    : starts.map(() => 1);
  const out: SliceAxis[] = input.map((d) => ({ start: 0, step: 1, extent: d }));
  axes.forEach((axis, i) => {
    const a = normAxis(axis, input.length);
    const dim = input[a];
    const step = steps[i];
    if (step === 0) throw new OpParamError("Slice with step 0");
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const norm = (v: number) => (v < 0 ? v + dim : v);
    const start = step > 0 ? clamp(norm(starts[i]), 0, dim) : clamp(norm(starts[i]), 0, dim - 1);
    const end = step > 0 ? clamp(norm(ends[i]), 0, dim) : clamp(norm(ends[i]), -1, dim - 1);
    const extent = Math.max(0, Math.ceil((end - start) / step));
    if (extent === 0) throw new OpParamError("Slice gives an empty tensor");
    out[a] = { start, step, extent };
  });
  return out;
}

/** Axis and the extents of Split's outputs (a `split` input, `num_outputs`, or equal parts). */
export function splitSizes(
  n: OnnxNode,
  lookup: ConstLookup,
  input: Shape,
): { axis: number; sizes: number[] } {
  const axis = normAxis(intAttr(n, "axis", 0), input.length);
  const dim = input[axis];
  const given =
    intsAttr(n, "split") ?? (n.inputs[1] ? constInts(lookup, n.inputs[1], "split") : undefined);
  if (given) {
    if (given.reduce((s, v) => s + v, 0) !== dim)
      throw new OpParamError("split sizes do not add up");
    return { axis, sizes: [...given] };
  }
  const parts = n.outputs.length;
  const part = Math.ceil(dim / parts);
  return { axis, sizes: Array.from({ length: parts }, (_, i) => Math.min(part, dim - i * part)) };
}

export interface WindowParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  /** Begin pads of H and W. */
  readonly padBegin: readonly number[];
  /** Whether any side is padded: reads then need a bounds check. */
  readonly padded: boolean;
  readonly out: readonly number[];
}

/** Geometry of a 2-D Conv or pooling window over an NCHW input. */
export function windowParams(n: OnnxNode, input: Shape, kernel: readonly number[]): WindowParams {
  if (input.length !== 4) throw new OpParamError("only 2-D (NCHW) windows are supported");
  const autoPad = stringAttr(n, "auto_pad", "NOTSET");
  if (autoPad !== "NOTSET" && autoPad !== "VALID")
    throw new OpParamError(`auto_pad ${autoPad} is not supported`);
  if ((intsAttr(n, "dilations") ?? [1, 1]).some((d) => d !== 1))
    throw new OpParamError("dilation other than 1");
  if (intAttr(n, "ceil_mode", 0) !== 0) throw new OpParamError("ceil_mode 1 is not supported");
  const strides = intsAttr(n, "strides") ?? [1, 1];
  const pads = autoPad === "VALID" ? [0, 0, 0, 0] : (intsAttr(n, "pads") ?? [0, 0, 0, 0]);
  const out = [0, 1].map(
    (d) => Math.floor((input[2 + d] + pads[d] + pads[d + 2] - kernel[d]) / strides[d]) + 1,
  );
  if (out.some((o) => o < 1)) throw new OpParamError("the window is larger than the padded input");
  return { kernel, strides, padBegin: [pads[0], pads[1]], padded: pads.some((p) => p > 0), out };
}

export interface ReduceParams {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

export function reduceParams(n: OnnxNode, lookup: ConstLookup, input: Shape): ReduceParams {
  const axes = axesOf(n, lookup, input.length);
  const all = input.map((_, i) => i);
  if (!axes && intAttr(n, "noop_with_empty_axes", 0) === 1)
    throw new OpParamError("noop_with_empty_axes is not supported");
  return { axes: axes && axes.length > 0 ? axes : all, keepdims: intAttr(n, "keepdims", 1) === 1 };
}

export function reducedShape(input: Shape, p: ReduceParams): number[] {
  return input.flatMap((d, i) => (p.axes.includes(i) ? (p.keepdims ? [1] : []) : [d]));
}
