/**
 * `prefetch` and `stream_store` at lowering, where the loop order is final: a prefetch
 * becomes a statement at the top of its loop's body, streaming marks the stage's stores
 * to its output.
 */
import {
  add,
  floorDiv,
  freeVars,
  intConst,
  intVar,
  mul,
  substitute,
  type IntExpr,
} from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import { strideAlong } from "../ir/strides.ts";
import { forEachRead, type Expr, type Stage } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import type { Attachments } from "./lower-context.ts";
import type { StageFrame } from "./lower-frame.ts";
import type { NestLoop } from "./nest-builder.ts";
import type { PrefetchState, StageState } from "./state.ts";

/**
 * Attaches each prefetch of the stage: at the top of `at`'s body, the element that the
 * stage's first read of the tensor reaches `distance` iterations of `ahead` later, with
 * the loops inside `at` at their first iteration; one per copy of an unrolled loop inside
 * (two rows per block fetch both rows ahead). A prepared weight is prefetched where the
 * stage reads it, in its prepared buffer (`preparedAs`). A spread prefetch is one per
 * iteration of `at` (spreadAddress). `shapeOf` gives the shape of a tensor or buffer.
 */
export function lowerPrefetches(
  st: StageState,
  frame: StageFrame,
  at: Attachments,
  value: Expr,
  preparedAs: ReadonlyMap<string, string>,
  shapeOf: (tensor: string) => readonly number[],
): void {
  for (const p of st.prefetches ?? []) {
    const issue = frame.position(p.at);
    const advance = frame.position(p.ahead);
    if (advance > issue) {
      throw new ScheduleError(
        `prefetch ahead along ${p.ahead}, which is inside ${p.at}; the loop it looks ahead along must enclose the one that issues it`,
        st.name,
        p.ahead,
      );
    }
    if (frame.loops[issue].kind === "vector") {
      throw new ScheduleError(
        "cannot prefetch per lane of a vector loop; prefetch at the loop around it",
        st.name,
        p.at,
      );
    }
    const tensor = preparedAs.get(p.tensor) ?? p.tensor;
    let idx: readonly IntExpr[] | undefined;
    forEachRead(value, (r) => {
      if (r.tensor === tensor && idx === undefined) idx = r.idx;
    });
    if (idx === undefined) {
      throw new ScheduleError(
        `reads '${p.tensor}' only through a copy or another stage; prefetch what the stage reads`,
        st.name,
        p.at,
      );
    }
    if (p.spread) {
      const address = spreadAddress(st, p, frame, idx, shapeOf(tensor));
      at.attach(issue + 1, [{ k: "prefetch", tensor, idx: address, l1: true }]);
      continue;
    }
    const aheadVar = frame.loops[advance].v;
    const ahead = add(intVar(aheadVar), intConst(p.distance));
    const read = idx;
    const prefetches = unrolledCopies(frame.loops.slice(issue + 1), read).map((env) => {
      env.set(aheadVar, ahead);
      return { k: "prefetch" as const, tensor, idx: read.map((x) => substitute(x, env)) };
    });
    at.attach(issue + 1, prefetches);
  }
}

/**
 * The element a spread prefetch fetches: of the memory from where the stage's read starts
 * in iteration `ahead + distance` to where it starts in the iteration after (a weight
 * panel, a row), the share of this iteration of the loops from inside `ahead` down to
 * `at`, counted in order. All of that iteration's lines arrive over one iteration of
 * `ahead`, a line every few steps, rather than the first of them in a burst from its
 * first steps (a skinny GEMM's first row block of each panel: the burst of L2 prefetches
 * left that block about twice as slow as the others on an AMD EPYC Zen 5, the spread L1
 * prefetches did not). The offset is added to the last index: the tensor is row-major.
 */
function spreadAddress(
  st: StageState,
  p: PrefetchState,
  frame: StageFrame,
  read: readonly IntExpr[],
  shape: readonly number[],
): IntExpr[] {
  const advance = frame.position(p.ahead);
  const between = frame.loops.slice(advance + 1, frame.position(p.at) + 1);
  if (between.length === 0) {
    throw new ScheduleError(
      "a spread prefetch needs loops between the one it looks ahead along and the one that issues it",
      st.name,
      p.at,
    );
  }
  const aheadVar = frame.loops[advance].v;
  const env = new Map<string, IntExpr>(
    frame.loops.slice(advance + 1).map((l) => [l.v, intConst(0)]),
  );
  env.set(aheadVar, add(intVar(aheadVar), intConst(p.distance)));
  const start = read.map((x) => substitute(x, env));
  const span = strideAlong(start, shape, aheadVar);
  if (span === null || span <= 0) {
    throw new ScheduleError(
      "a spread prefetch needs the stage's reads of one iteration to start a constant distance after the previous one's",
      st.name,
      p.ahead,
    );
  }
  const steps = between.reduce((n, l) => n * l.extent, 1);
  const step = between.reduce<IntExpr>(
    (acc, l) => add(mul(acc, l.extent), intVar(l.v)),
    intConst(0),
  );
  const offset = span % steps === 0 ? mul(step, span / steps) : floorDiv(mul(step, span), steps);
  return start.map((x, d) => (d === start.length - 1 ? add(x, offset) : x));
}

/**
 * With `stream_store`, the stage's stores to its output stream past the caches. Only a
 * stage at the root writes its output to memory, and each element must be written once:
 * a streamed partial sum would be read back from memory.
 */
export function markStreamingStores(
  st: StageState,
  stage: Stage,
  output: string,
  nest: Stmt[],
): Stmt[] {
  if (!st.streamStores) return nest;
  if (st.placement.k !== "root") {
    throw new ScheduleError(
      "stream_store needs a stage that writes its output to memory; this one is computed inside another stage",
      st.name,
    );
  }
  if (stage.reduceAxes.length > 0 && st.cacheWriteAt === undefined) {
    throw new ScheduleError(
      "stream_store needs each output element written once; accumulate locally first (cache_write)",
      st.name,
    );
  }
  const mark = (list: readonly Stmt[]): Stmt[] =>
    list.map((s) => {
      if (s.k === "store") return s.buf === output ? { ...s, streaming: true } : s;
      if (s.k === "for" || s.k === "if") return { ...s, body: mark(s.body) };
      return s;
    });
  return mark(nest);
}

const MAX_PREFETCHES = 8;

/** Substitutions for the loops inside the issuing one: each copy of an unrolled loop the read uses, 0 for the rest. */
function unrolledCopies(
  inner: readonly NestLoop[],
  read: readonly IntExpr[],
): Map<string, IntExpr>[] {
  const used = new Set(read.flatMap((x) => [...freeVars(x)]));
  let envs = [new Map<string, IntExpr>()];
  for (const l of inner) {
    const copies = l.kind === "unroll" && used.has(l.v) ? l.extent : 1;
    if (envs.length * copies > MAX_PREFETCHES) {
      throw new ScheduleError(
        `the unrolled loops inside the prefetch's loop would issue more than ${MAX_PREFETCHES} prefetches per iteration`,
        l.v.slice(0, l.v.indexOf(".")),
        l.v.slice(l.v.indexOf(".") + 1),
      );
    }
    envs = envs.flatMap((env) =>
      Array.from({ length: copies }, (_, c) => new Map(env).set(l.v, intConst(c))),
    );
  }
  return envs;
}
