/**
 * Vectorized reductions: a reduction loop run as SIMD lanes, each lane a partial result in
 * a vector accumulator (the stage's cache_write local), combined horizontally once the
 * reduction is done. Unrolled reduction loops inside the local's loop add more
 * independent accumulators, which hides the latency of the add (or max) chain.
 */
import { intConst, intVar, type IntExpr } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import type { Combiner, Expr } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import type { NestLoop } from "./nest-builder.ts";
import type { StageState } from "./state.ts";

/** Why a reduction loop cannot be vectorized in this stage state, or undefined when it can. */
export function vectorReductionRefusal(st: StageState): string | undefined {
  const firstReduce = st.loops.findIndex((l) => l.reduce);
  const at =
    st.cacheWriteAt === undefined ? -1 : st.loops.findIndex((l) => l.name === st.cacheWriteAt);
  if (at < 0 || at >= firstReduce) {
    return `lanes would race on one accumulator; cache_write ${st.name} at a loop outside every reduction loop first (a vector accumulator, combined horizontally after the reduction)`;
  }
  return undefined;
}

/** Refuses a vectorized reduction loop whose stage state has no vector accumulator for it. */
export function requireVectorReduction(st: StageState, loop: string): void {
  const why = vectorReductionRefusal(st);
  if (why)
    throw new ScheduleError(`cannot vectorize reduction loop ${loop}: ${why}`, st.name, loop);
}

/**
 * The loops of the local accumulator beyond its spatial ones when the innermost loop is a
 * vectorized reduction loop: every unrolled reduction loop inside the cache_write loop,
 * then the vector loop (its lanes). Empty for an ordinary cache_write.
 */
export function accumulatorLaneLoops(
  st: StageState,
  loops: readonly NestLoop[],
  cacheWrite: number,
): NestLoop[] {
  const innermost = st.loops.at(-1);
  if (!innermost || !innermost.reduce || innermost.annotation !== "vector") return [];
  requireVectorReduction(st, innermost.name);
  return loops.filter(
    (l, i) => i > cacheWrite && st.loops[i].reduce && (l.kind === "unroll" || l.kind === "vector"),
  );
}

/**
 * The horizontal combine of one accumulator element: the unrolled accumulators folded
 * into the first, a whole vector at a time, then that vector's lanes combined as a
 * balanced tree (log-depth, so the final combine is not one long dependency chain).
 * Returns the fold statements and the combined value.
 */
export function horizontalCombine(
  combiner: Combiner,
  local: string,
  spatialIdx: readonly IntExpr[],
  laneLoops: readonly NestLoop[],
): { fold: Stmt[]; value: Expr } {
  const vector = laneLoops[laneLoops.length - 1];
  const op = combiner === "max" ? "max" : "+";
  let accumulators: IntExpr[][] = [[]];
  for (const l of laneLoops.slice(0, -1))
    accumulators = accumulators.flatMap((prefix) =>
      Array.from({ length: l.extent }, (_, i) => [...prefix, intConst(i)]),
    );
  const element = (acc: readonly IntExpr[], lane: IntExpr): Expr => ({
    k: "read",
    tensor: local,
    idx: [...spatialIdx, ...acc, lane],
  });
  const lane = intVar(vector.v);
  const fold: Stmt[] = accumulators.slice(1).map((acc) => ({
    k: "for",
    v: vector.v,
    extent: vector.extent,
    count: intConst(vector.extent),
    kind: "vector",
    body: [
      {
        k: "store",
        buf: local,
        idx: [...spatialIdx, ...accumulators[0], lane],
        value: { k: "bin", op, a: element(accumulators[0], lane), b: element(acc, lane) },
      },
    ],
  }));
  const tree = (items: Expr[]): Expr => {
    if (items.length === 1) return items[0];
    const half = Math.ceil(items.length / 2);
    return { k: "bin", op, a: tree(items.slice(0, half)), b: tree(items.slice(half)) };
  };
  const lanes = Array.from({ length: vector.extent }, (_, i) =>
    element(accumulators[0], intConst(i)),
  );
  return { fold, value: tree(lanes) };
}
