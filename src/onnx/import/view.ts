/**
 * A tensor as the importer sees it while lowering: its shape and how to read one element
 * at symbolic indices. Element-wise and layout operators only compose views; heavy ones
 * materialize stages. This module holds the view algebra of the layout operators and of
 * broadcasting.
 */
import type { Expr } from "../../ir/program.ts";
import { add, floorDiv, intConst, intMin, mod, mul, type IntExpr } from "../../ir/int-expr.ts";
import { icmp, select } from "../../ir/builder.ts";
import type { Shape, SliceAxis } from "./op-params.ts";

export interface View {
  readonly shape: Shape;
  at(idx: readonly IntExpr[]): Expr;
  /** The stage holding the values, when they are materialized. */
  readonly stage?: string;
}

export const view = (shape: Shape, at: (idx: readonly IntExpr[]) => Expr): View => ({ shape, at });

/** Indices of a tensor of `shape` broadcast (right-aligned) to output indices `idx`. */
export function broadcastIndex(shape: Shape, idx: readonly IntExpr[]): IntExpr[] {
  const offset = idx.length - shape.length;
  return shape.map((d, i) => (d === 1 ? intConst(0) : idx[offset + i]));
}

export const broadcastTo = (v: View, shape: Shape): View =>
  view(shape, (idx) => v.at(broadcastIndex(v.shape, idx)));

export function transposeView(v: View, perm: readonly number[]): View {
  return view(
    perm.map((p) => v.shape[p]),
    (idx) => {
      const inIdx: IntExpr[] = new Array<IntExpr>(perm.length);
      perm.forEach((p, d) => (inIdx[p] = idx[d]));
      return v.at(inIdx);
    },
  );
}

/**
 * Reshape as index arithmetic. Extent-1 dimensions are read at 0; the others are matched
 * in groups of equal element count, so that splitting or merging dimensions costs one
 * division or multiplication instead of a full linearization.
 */
export function reshapeView(v: View, shape: Shape): View {
  const inDims = v.shape.flatMap((d, i) => (d === 1 ? [] : [i]));
  const outDims = shape.flatMap((d, i) => (d === 1 ? [] : [i]));
  const groups: { ins: number[]; outs: number[] }[] = [];
  let i = 0;
  let j = 0;
  while (i < inDims.length && j < outDims.length) {
    const group = { ins: [inDims[i++]], outs: [outDims[j++]] };
    let pIn = v.shape[group.ins[0]];
    let pOut = shape[group.outs[0]];
    while (pIn !== pOut) {
      if (pIn < pOut) {
        group.ins.push(inDims[i]);
        pIn *= v.shape[inDims[i++]];
      } else {
        group.outs.push(outDims[j]);
        pOut *= shape[outDims[j++]];
      }
    }
    groups.push(group);
  }
  return view(shape, (idx) => {
    const inIdx: IntExpr[] = v.shape.map(() => intConst(0));
    for (const { ins, outs } of groups) {
      let stride = 1;
      const terms: IntExpr[] = [];
      for (const o of [...outs].reverse()) {
        terms.push(mul(idx[o], stride));
        stride *= shape[o];
      }
      const linear = add(...terms);
      let inStride = stride;
      ins.forEach((d, k) => {
        inStride /= v.shape[d];
        const q = inStride === 1 ? linear : floorDiv(linear, inStride);
        inIdx[d] = k === 0 ? q : mod(q, v.shape[d]);
      });
    }
    return v.at(inIdx);
  });
}

export function sliceView(v: View, axes: readonly SliceAxis[]): View {
  return view(
    axes.map((a) => a.extent),
    (idx) => v.at(idx.map((ix, d) => add(axes[d].start, mul(ix, axes[d].step)))),
  );
}

/** Concatenation as a chain of selects on the axis index; only the chosen input is read. */
export function concatView(parts: readonly View[], axis: number): View {
  const offsets: number[] = [];
  let total = 0;
  for (const p of parts) {
    offsets.push(total);
    total += p.shape[axis];
  }
  const shape = parts[0].shape.map((d, i) => (i === axis ? total : d));
  return view(shape, (idx) => {
    const readPart = (k: number): Expr =>
      parts[k].at(idx.map((ix, d) => (d === axis ? add(ix, -offsets[k]) : ix)));
    let e = readPart(parts.length - 1);
    for (let k = parts.length - 2; k >= 0; k--)
      e = select(icmp(idx[axis], "<", offsets[k + 1]), readPart(k), e);
    return e;
  });
}

/** Clamps an index into [0, extent): a padded window read as its nearest element inside. */
export function clampIndex(ix: IntExpr, extent: number): IntExpr {
  const below = intMin(ix, extent - 1);
  return mul(intMin(mul(below, -1), 0), -1);
}
