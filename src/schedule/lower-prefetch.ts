/**
 * `prefetch` and `stream_store` at lowering, where the loop order is final: a prefetch
 * becomes a statement at the top of its loop's body, streaming marks the stage's stores
 * to its output.
 */
import { add, freeVars, intConst, intVar, substitute, type IntExpr } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import { forEachRead, type Expr, type Stage } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import type { Attachments } from "./lower-context.ts";
import type { StageFrame } from "./lower-frame.ts";
import type { NestLoop } from "./nest-builder.ts";
import type { StageState } from "./state.ts";

/**
 * Attaches each prefetch of the stage: at the top of `at`'s body, the element that the
 * stage's first read of the tensor reaches `distance` iterations of `ahead` later, with
 * the loops inside `at` at their first iteration; one per copy of an unrolled loop inside
 * (two rows per block fetch both rows ahead). A prepared weight is prefetched where the
 * stage reads it, in its prepared buffer (`preparedAs`).
 */
export function lowerPrefetches(
  st: StageState,
  frame: StageFrame,
  at: Attachments,
  value: Expr,
  preparedAs: ReadonlyMap<string, string>,
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
