/**
 * Where a stage's values accumulate: the reduction's init nest, and with cache_write a
 * local accumulator (registers when it is all unrolled or vector loops) filled before
 * the reduction and written back after it.
 */
import { freeVars, intVar, sub, type IntExpr, type Interval } from "../ir/int-expr.ts";
import type { Expr, Stage } from "../ir/program.ts";
import { identityOf } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { freshBufferName, type Attachments, type LowerCtx } from "./lower-context.ts";
import type { StageFrame } from "./lower-frame.ts";
import { buildNest, type NestLoop } from "./nest-builder.ts";
import { stageState } from "./state.ts";
import { accumulatorLaneLoops, horizontalCombine } from "./vector-reduction.ts";

/** Largest cache_write accumulator, in floats: it lives on the stack. */
const MAX_LOCAL_FLOATS = 64 * 1024;

/** The buffer element a stage's main statement stores to. */
export interface StoreTarget {
  readonly buf: string;
  readonly idx: readonly IntExpr[];
}

/** Where the main statement stores and the term it accumulates there. */
export interface Accumulation {
  readonly target: StoreTarget;
  readonly term: Expr;
}

/**
 * A sum whose every term is scaled by the same constant (layernorm's mean and variance,
 * each term times 1/cols): the term without it and the constant, or undefined.
 */
function constantFactor(combiner: Stage["combiner"], term: Expr): [Expr, number] | undefined {
  if (combiner !== "sum" || term.k !== "bin" || term.op !== "*") return undefined;
  if (term.b.k === "const" && term.a.k !== "const") return [term.a, term.b.v];
  if (term.a.k === "const" && term.b.k !== "const") return [term.b, term.a.v];
  return undefined;
}

/**
 * Attaches the init and (with cache_write) the accumulator's fill and write-back, and
 * returns where the main statement stores (the output, or the local accumulator) and the
 * term it accumulates: a vector accumulator of a sum leaves a constant factor of every
 * term to its write-back, one multiply per row instead of one per element.
 */
export function lowerAccumulation(
  ctx: LowerCtx,
  stage: Stage,
  frame: StageFrame,
  at: Attachments,
  output: StoreTarget,
  term: Expr,
): Accumulation {
  const name = stage.name;
  const st = stageState(ctx.state, name);
  const { loops } = frame;
  const spatialInside = (d: number) => loops.slice(d).filter((_, i) => !st.loops[d + i].reduce);
  const r0 = st.loops.findIndex((l) => l.reduce);
  const cw = st.cacheWriteAt === undefined ? -1 : frame.position(st.cacheWriteAt);
  const identity: Expr = { k: "const", v: stage.combiner ? identityOf(stage.combiner) : 0 };
  const spatialGuards = (nest: readonly NestLoop[], outer: ReadonlyMap<string, Interval>) => {
    const avail = new Set([...outer.keys(), ...nest.map((l) => l.v)]);
    return frame.guards.filter((g) => [...freeVars(sub(g.lhs, g.rhs))].every((v) => avail.has(v)));
  };
  if (r0 >= 0 && !(cw >= 0 && cw < r0)) {
    const nestLoops = spatialInside(r0 + 1);
    const outer = frame.outerRanges(r0 - 1);
    const init = { k: "store" as const, buf: output.buf, idx: output.idx, value: identity };
    at.attach(r0, buildNest(nestLoops, spatialGuards(nestLoops, outer), [init]));
  }
  if (cw < 0) return { target: output, term };
  const spatialLocal = spatialInside(cw + 1);
  const laneLoops = accumulatorLaneLoops(st, loops, cw);
  const localLoops = [...spatialLocal, ...laneLoops];
  const shape = localLoops.map((l) => l.extent);
  if (shape.reduce((n, d) => n * d, 1) > MAX_LOCAL_FLOATS) {
    throw new ScheduleError(
      `local accumulator of ${shape.join("x")} floats is too large (at most ${MAX_LOCAL_FLOATS}); cache_write at an inner loop`,
      name,
      st.cacheWriteAt,
    );
  }
  const vectorLast = localLoops.every(
    (l, i) => l.kind === "unroll" || (l.kind === "vector" && i === localLoops.length - 1),
  );
  if (laneLoops.length > 0 && !vectorLast) {
    throw new ScheduleError(
      `the vector accumulator of the vectorized reduction must live in registers; unroll the spatial loops inside ${st.cacheWriteAt} (${spatialLocal.map((l) => l.v).join(", ")}) or cache_write at an inner loop`,
      name,
      st.cacheWriteAt,
    );
  }
  const local = freshBufferName(ctx, `${name}_local`);
  const lanes = localLoops.at(-1)?.kind === "vector" ? localLoops.at(-1)!.extent : 1;
  ctx.buffers.push({
    name: local,
    shape,
    role: "local",
    perThread: false,
    registers: vectorLast,
    lanes,
  });
  const localIdx = localLoops.map((l) => intVar(l.v));
  const outer = frame.outerRanges(cw);
  // Lanes are initialised whole: a reduction tail leaves its unused lanes at the identity.
  const nestGuards =
    laneLoops.length > 0 ? spatialGuards(spatialLocal, outer) : spatialGuards(localLoops, outer);
  const loadsOutput = r0 >= 0 && r0 <= cw;
  const initValue: Expr =
    loadsOutput || r0 < 0 ? { k: "read", tensor: output.buf, idx: output.idx } : identity;
  const prologue = [{ k: "alloc" as const, buf: local }];
  at.attach(cw + 1, prologue);
  if (r0 >= 0)
    at.attach(
      cw + 1,
      buildNest(localLoops, nestGuards, [
        { k: "store", buf: local, idx: localIdx, value: initValue },
      ]),
    );
  if (laneLoops.length > 0) {
    const spatialIdx = spatialLocal.map((l) => intVar(l.v));
    const { fold, value } = horizontalCombine(stage.combiner!, local, spatialIdx, laneLoops);
    const factor = constantFactor(stage.combiner, term);
    const scaled: Expr = factor
      ? { k: "bin", op: "*", a: value, b: { k: "const", v: factor[1] } }
      : value;
    const writeBack = { k: "store" as const, buf: output.buf, idx: output.idx, value: scaled };
    at.attach(
      cw + 1,
      buildNest(spatialLocal, spatialGuards(spatialLocal, outer), [...fold, writeBack]),
      true,
    );
    return { target: { buf: local, idx: localIdx }, term: factor ? factor[0] : term };
  } else {
    const writeBack = {
      k: "store" as const,
      buf: output.buf,
      idx: output.idx,
      value: { k: "read" as const, tensor: local, idx: localIdx },
    };
    at.attach(cw + 1, buildNest(localLoops, nestGuards, [writeBack]), true);
  }
  return { target: { buf: local, idx: localIdx }, term };
}
