/**
 * How lowering finds and rewrites the reads of a stage body: inlining producers,
 * redirecting a tensor to a copy, and inferring the region a set of reads touches.
 */
import {
  add,
  freeVars,
  intConst,
  intervalOf,
  mul,
  printInt,
  simplify,
  substitute,
  toLinear,
  type IntExpr,
  type Interval,
} from "../ir/int-expr.ts";
import type { Expr } from "../ir/program.ts";
import { forEachRead, mapExpr } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import type { LowerCtx } from "./lower-context.ts";
import { stageDefinition } from "./state.ts";

type ReadNode = Extract<Expr, { k: "read" }>;

/** Replaces reads of inlined stages by their bodies, recursively. */
export function inlineReads(ctx: LowerCtx, e: Expr): Expr {
  return mapExpr(e, (r) => {
    const st = ctx.state.stages.find((s) => s.name === r.tensor);
    if (!st || st.placement.k !== "inline") return r;
    const producer = stageDefinition(ctx.program, r.tensor);
    const env = new Map(producer.axes.map((a, d) => [a.name, r.idx[d]]));
    const body = mapExpr(
      producer.body,
      (x) => x,
      (i) => substitute(i, env),
    );
    return inlineReads(ctx, body);
  });
}

/** The one index pattern at which a stage reads a tensor that pack or prepare re-lays. */
export function singleAccess(
  reads: readonly IntExpr[][],
  tensor: string,
  what: "pack" | "prepare",
  stage: string,
  loop?: string,
): IntExpr[] {
  const first = reads[0].map((x) => printInt(x)).join(",");
  if (reads.some((r) => r.map((x) => printInt(x)).join(",") !== first)) {
    throw new ScheduleError(
      `'${tensor}' is read at several different indices; ${what} needs one access pattern (use cache_read)`,
      stage,
      loop,
    );
  }
  return reads[0];
}

export function readsOf(e: Expr, tensor: string): IntExpr[][] {
  const out: IntExpr[][] = [];
  forEachRead(e, (r) => {
    if (r.tensor === tensor) out.push([...r.idx]);
  });
  return out;
}

export function redirectReads(
  e: Expr,
  tensor: string,
  buffer: string,
  reindex: (idx: readonly IntExpr[]) => IntExpr[],
): Expr {
  return mapExpr(e, (r: ReadNode): Expr =>
    r.tensor === tensor ? { k: "read", tensor: buffer, idx: reindex(r.idx).map(simplify) } : r,
  );
}

/**
 * The box of a tensor touched by `reads` while the loops in `inner` run, as a start
 * that depends only on outer loops and a static span per dimension.
 */
export function regionOf(
  reads: IntExpr[][],
  inner: ReadonlySet<string>,
  allRanges: ReadonlyMap<string, Interval>,
  stage: string,
  loop: string,
  tensor: string,
): { lo: IntExpr[]; spans: number[] } {
  if (reads.length === 0) throw new ScheduleError(`does not read '${tensor}'`, stage, loop);
  const rank = reads[0].length;
  const lo: IntExpr[] = [];
  const spans: number[] = [];
  for (let d = 0; d < rank; d++) {
    let symbolic: string | undefined;
    let symbolicExpr: IntExpr = intConst(0);
    let min = Infinity;
    let max = -Infinity;
    for (const r of reads) {
      const lin = toLinear(simplify(r[d]));
      let outerPart: IntExpr = intConst(0);
      let innerPart: IntExpr = intConst(lin.c);
      for (const { atom, coef } of lin.terms.values()) {
        const vars = [...freeVars(atom)];
        const term = mul(atom, coef);
        if (vars.every((v) => !inner.has(v))) outerPart = add(outerPart, term);
        else if (vars.every((v) => inner.has(v))) innerPart = add(innerPart, term);
        else {
          throw new ScheduleError(
            `index of '${tensor}' in dimension ${d} (${printInt(r[d])}) mixes loops inside and outside ${loop}; its region cannot be inferred`,
            stage,
            loop,
          );
        }
      }
      const key = printInt(outerPart);
      if (symbolic !== undefined && symbolic !== key) {
        throw new ScheduleError(
          `'${tensor}' is read at unrelated offsets in dimension ${d}; its region cannot be inferred`,
          stage,
          loop,
        );
      }
      symbolic = key;
      symbolicExpr = outerPart;
      const iv = intervalOf(innerPart, allRanges);
      min = Math.min(min, iv.lo);
      max = Math.max(max, iv.hi);
    }
    lo.push(simplify(add(symbolicExpr, min)));
    spans.push(max - min + 1);
  }
  return { lo, spans };
}
