/**
 * Lowering help for compute_at chains: several producers computed at one consumer loop,
 * some reading others (attention's scores, row statistics and probabilities inside the
 * query-block loop). Each producer's region must cover what the consumer reads inside the
 * loop and what the chain's later stages read over their own regions.
 */
import { add, intVar, substitute, type IntExpr, type Interval } from "../ir/int-expr.ts";
import { forEachRead, mapExpr, type Expr, type Program, type Stage } from "../ir/program.ts";
import { requireChainAt } from "./consumers.ts";
import { stageDefinition, type ScheduleState } from "./state.ts";

/** The producers computed at each loop of `consumer`, in program order, each group checked. */
export function chainsAt(state: ScheduleState, consumer: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const p of state.stages) {
    if (p.placement.k !== "at" || p.placement.consumer !== consumer) continue;
    const loop = p.placement.loop;
    groups.set(loop, [...(groups.get(loop) ?? []), p.name]);
  }
  for (const [loop, members] of groups) {
    for (const p of members) requireChainAt(state, p, consumer, loop);
  }
  return groups;
}

/**
 * Reads of `tensor` by `stage` computed over the region starting at `lo` with `spans`:
 * its axes become `lo + u` and every point variable `u` and reduction axis a fresh
 * variable with its range, for region inference over the whole chain.
 */
function readsOverRegion(
  stage: Stage,
  inlinedBody: Expr,
  lo: readonly IntExpr[],
  spans: readonly number[],
  tensor: string,
): { reads: IntExpr[][]; ranges: Map<string, Interval> } {
  const point = (axis: string) => `@${stage.name}.${axis}`;
  const ranges = new Map<string, Interval>();
  const env = new Map<string, IntExpr>();
  stage.axes.forEach((a, d) => {
    env.set(a.name, add(lo[d], intVar(point(a.name))));
    ranges.set(point(a.name), { lo: 0, hi: spans[d] - 1 });
  });
  for (const a of stage.reduceAxes) {
    env.set(a.name, intVar(point(a.name)));
    ranges.set(point(a.name), { lo: 0, hi: a.extent - 1 });
  }
  const body = mapExpr(
    inlinedBody,
    (r) => r,
    (i) => substitute(i, env),
  );
  const reads: IntExpr[][] = [];
  forEachRead(body, (r) => {
    if (r.tensor === tensor) reads.push([...r.idx]);
  });
  return { reads, ranges };
}

export interface ChainRegion {
  readonly buffer: string;
  readonly lo: readonly IntExpr[];
  readonly spans: readonly number[];
}

/** What region inference needs from the lowering of the consumer. */
export interface ChainLowering {
  readonly program: Program;
  /** The consumer's body, in its loop variables. */
  readonly consumerExpr: Expr;
  /** Loop variables inside the attachment loop. */
  readonly innerVars: ReadonlySet<string>;
  /** Ranges of every loop variable in scope. */
  readonly ranges: ReadonlyMap<string, Interval>;
  readsOf(e: Expr, tensor: string): IntExpr[][];
  regionOf(
    reads: IntExpr[][],
    inner: ReadonlySet<string>,
    ranges: ReadonlyMap<string, Interval>,
    tensor: string,
  ): { lo: IntExpr[]; spans: number[] };
  inlined(e: Expr): Expr;
  bufferName(producer: string): string;
}

/**
 * The region of every chain member, last stage first: what the consumer reads inside
 * the loop, plus what the chain's later stages read over their own regions.
 */
export function chainRegions(
  members: readonly string[],
  l: ChainLowering,
): Map<string, ChainRegion> {
  const chain = new Map<string, ChainRegion>();
  for (const p of [...members].reverse()) {
    const reads = l.readsOf(l.consumerExpr, p);
    const ranges = new Map(l.ranges);
    for (const [q, qReg] of chain) {
      const qStage = stageDefinition(l.program, q);
      const over = readsOverRegion(qStage, l.inlined(qStage.body), qReg.lo, qReg.spans, p);
      reads.push(...over.reads);
      for (const [v, iv] of over.ranges) ranges.set(v, iv);
    }
    const inner = new Set([...l.innerVars, ...[...ranges.keys()].filter((v) => !l.ranges.has(v))]);
    const reg = l.regionOf(reads, inner, ranges, p);
    chain.set(p, { buffer: l.bufferName(p), lo: reg.lo, spans: reg.spans });
  }
  return new Map(members.map((p) => [p, chain.get(p)!]));
}
