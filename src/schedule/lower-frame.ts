/**
 * The frame of one stage being lowered: its loops with their extents, each axis as an
 * expression of those loops (splits and fuses undone), and the guards that keep axes in
 * their domains when splits do not divide.
 */
import {
  add,
  floorDiv,
  intConst,
  intervalOf,
  intVar,
  mod,
  mul,
  simplify,
  sub,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import type { Stage } from "../ir/program.ts";
import type { LowerCtx, Region } from "./lower-context.ts";
import { maskGuard, maskToSkip } from "./mask.ts";
import type { Guard, NestLoop } from "./nest-builder.ts";
import { loopExtents, type StageState } from "./state.ts";

export interface StageFrame {
  readonly loops: readonly NestLoop[];
  /** Ranges of the loops outside the stage and of all its own loops. */
  readonly ranges: ReadonlyMap<string, Interval>;
  /** Each axis (and split or fuse result) as an expression of the stage's loops. */
  readonly localAxis: (axis: string) => IntExpr;
  /** Each axis in the coordinates of the whole tensor (offset by a compute_at region). */
  readonly globalEnv: ReadonlyMap<string, IntExpr>;
  readonly guards: readonly Guard[];
  /** Index of a loop of the stage, outermost first. */
  readonly position: (loop: string) => number;
  /** Ranges of the loops outside the stage and its loops 0..c. */
  readonly outerRanges: (c: number) => Map<string, Interval>;
  /** Variables of the stage's loops inside loop c. */
  readonly innerVars: (c: number) => Set<string>;
  /** Whether loop c runs inside a parallel loop (its buffers are then per thread). */
  readonly parallelThrough: (c: number) => boolean;
}

export function stageFrame(
  ctx: LowerCtx,
  stage: Stage,
  st: StageState,
  region: Region | undefined,
): StageFrame {
  const q = (loop: string) => `${stage.name}.${loop}`;
  const rootExtents = new Map<string, number>([
    ...stage.axes.map((a, d): [string, number] => [a.name, region ? region.spans[d] : a.extent]),
    ...stage.reduceAxes.map((a): [string, number] => [a.name, a.extent]),
  ]);
  const ext = loopExtents(st, rootExtents);
  const loops: NestLoop[] = st.loops.map((l) => ({
    v: q(l.name),
    extent: ext.get(l.name)!,
    kind: l.annotation,
    ...(l.chunk !== undefined ? { chunk: l.chunk } : {}),
  }));
  const ranges = new Map(ctx.ranges);
  for (const l of loops) ranges.set(l.v, { lo: 0, hi: l.extent - 1 });

  // Axis values in terms of the current loops, undoing splits and fuses.
  const env = new Map<string, IntExpr>(st.loops.map((l) => [l.name, intVar(q(l.name))]));
  for (const r of [...st.relations].reverse()) {
    if (r.k === "split") {
      env.set(r.parent, add(mul(env.get(r.outer)!, r.factor), env.get(r.inner)!));
    } else {
      const innerExtent = ext.get(r.inner)!;
      env.set(r.outer, floorDiv(env.get(r.fused)!, innerExtent));
      env.set(r.inner, mod(env.get(r.fused)!, innerExtent));
    }
  }
  const localAxis = (a: string) => env.get(a)!;
  const globalEnv = new Map<string, IntExpr>([
    ...stage.axes.map((a, d): [string, IntExpr] => [
      a.name,
      region ? add(region.lo[d], localAxis(a.name)) : localAxis(a.name),
    ]),
    ...stage.reduceAxes.map((a): [string, IntExpr] => [a.name, localAxis(a.name)]),
  ]);

  const guards: Guard[] = [];
  const addGuard = (lhs: IntExpr, rhs: IntExpr) => {
    const iv = intervalOf(simplify(sub(lhs, rhs)), ranges);
    if (iv.hi >= 0) guards.push({ lhs, rhs });
  };
  for (const a of [...stage.axes, ...stage.reduceAxes])
    addGuard(localAxis(a.name), intConst(rootExtents.get(a.name)!));
  if (region) stage.axes.forEach((a) => addGuard(globalEnv.get(a.name)!, intConst(a.extent)));
  // A non-dividing split of a loop that is itself a split or fuse result overruns that loop.
  for (const r of st.relations) {
    if (r.k === "split" && !rootExtents.has(r.parent))
      addGuard(env.get(r.parent)!, intConst(ext.get(r.parent)!));
  }
  if (st.skipMasked)
    guards.push(...maskGuard(maskToSkip(ctx.state, stage.name), globalEnv, loops, ranges));

  const outerRanges = (c: number) => {
    const r = new Map(ctx.ranges);
    for (const l of loops.slice(0, c + 1)) r.set(l.v, { lo: 0, hi: l.extent - 1 });
    return r;
  };
  return {
    loops,
    ranges,
    localAxis,
    globalEnv,
    guards,
    position: (loop) => st.loops.findIndex((l) => l.name === loop),
    outerRanges,
    innerVars: (c) => new Set(loops.slice(c + 1).map((l) => l.v)),
    parallelThrough: (c) =>
      ctx.inParallel || loops.slice(0, c + 1).some((l) => l.kind === "parallel"),
  };
}
