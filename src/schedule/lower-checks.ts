/**
 * Whole-nest checks after lowering: nothing but contiguous stores and reads inside a
 * vector loop, one level of parallelism, and a bounded unrolled body.
 */
import {
  coefficientOf,
  freeVars,
  intervalOf,
  printInt,
  type Interval,
  type IntExpr,
} from "../ir/int-expr.ts";
import type { LoweredProgram, Stmt } from "../ir/loop-nest.ts";
import { forEachRead, type Cond, type Expr } from "../ir/program.ts";
import { strideAlong } from "../ir/strides.ts";
import { ScheduleError } from "./errors.ts";

/** Largest number of statement copies one unrolled body may expand to. */
const MAX_UNROLLED_COPIES = 2048;

/** Whole-nest checks: vector loop bodies, nested parallelism, unroll budget. */
export function checkLoweredNest(lp: LoweredProgram): void {
  const stageOfVar = (v: string) => v.slice(0, v.indexOf("."));
  const loopOfVar = (v: string) => v.slice(v.indexOf(".") + 1);
  const ranges = new Map<string, Interval>();
  const walk = (
    stmts: readonly Stmt[],
    parallel: string | undefined,
    unrolled: number,
    inPrepare: boolean,
    stage?: string,
  ) => {
    for (const s of stmts) {
      if (s.k === "alloc" && inPrepare) checkPrepareAlloc(lp, s.buf, stage);
      if (s.k === "for") {
        ranges.set(s.v, { lo: 0, hi: s.extent - 1 });
        if (s.kind === "parallel" && inPrepare) {
          throw new ScheduleError(
            "the stage is computed once in prepare, which runs serially; parallelize stages the kernel runs",
            stageOfVar(s.v),
            loopOfVar(s.v),
          );
        }
        if (s.kind === "parallel" && parallel) {
          throw new ScheduleError(
            `parallel loop nested inside parallel loop ${parallel}; only one level of parallelism is supported`,
            stageOfVar(s.v),
            loopOfVar(s.v),
          );
        }
        const copies = s.kind === "unroll" ? unrolled * s.extent : unrolled;
        if (copies > MAX_UNROLLED_COPIES) {
          throw new ScheduleError(
            `unrolling expands the body to ${copies} copies (at most ${MAX_UNROLLED_COPIES})`,
            stageOfVar(s.v),
            loopOfVar(s.v),
          );
        }
        if (s.kind === "vector") checkVectorBody(lp, s, ranges);
        walk(s.body, s.kind === "parallel" ? s.v : parallel, copies, inPrepare, stageOfVar(s.v));
      } else if (s.k === "if") {
        walk(s.body, parallel, unrolled, inPrepare, stage);
      }
    }
  };
  // Constant stages run in prepare, under the same rules.
  walk(lp.prepare, undefined, 1, true);
  walk(lp.body, undefined, 1, false);
}

/**
 * The prepare function gets the weights and the prepared block, no workspace (and runs
 * serially, so its stages get no parallel loop): a constant stage's copy of an operand
 * (cache_read, pack) has nowhere to live there. Locals (registers, small stack arrays) are
 * fine.
 */
function checkPrepareAlloc(lp: LoweredProgram, buf: string, stage: string | undefined): void {
  const b = lp.buffers.find((x) => x.name === buf);
  if (b === undefined || b.role === "local") return;
  throw new ScheduleError(
    `its copy '${buf}' needs the kernel's workspace, but the stage is computed once in prepare, which has none; copy operands only in stages the kernel runs`,
    stage,
  );
}

function checkVectorBody(
  lp: LoweredProgram,
  loop: Extract<Stmt, { k: "for" }>,
  ranges: ReadonlyMap<string, Interval>,
): void {
  const stage = loop.v.slice(0, loop.v.indexOf("."));
  const name = loop.v.slice(loop.v.indexOf(".") + 1);
  const fail = (why: string): never => {
    throw new ScheduleError(why, stage, name);
  };
  for (const s of loop.body) {
    if (s.k !== "store")
      fail("nothing can be attached inside a vectorized loop, and it must be the innermost loop");
    const st = s as Extract<Stmt, { k: "store" }>;
    checkContiguous(lp, st.buf, st.idx, loop.v, `store to ${st.buf}`, fail, true);
    // Lanes compare their own index values: each side must be affine in the vector loop.
    forEachIndexCompared(st.value, (x) => {
      if (coefficientOf(x, loop.v) === null)
        fail(`a condition depends on the vectorized loop non-linearly (${printInt(x)})`);
    });
    forEachRead(st.value, (r, guarded) => {
      const depends = r.idx.some((x) => freeVars(x).has(loop.v));
      // Lanes evaluate both sides of a select: fine only when every lane stays in bounds.
      const shape = lp.buffers.find((b) => b.name === r.tensor)?.shape;
      const inBounds =
        shape !== undefined &&
        r.idx.every((x, d) => {
          const iv = intervalOf(x, ranges);
          return iv.lo >= 0 && iv.hi < shape[d];
        });
      if (guarded && depends && !inBounds)
        fail(
          `'${r.tensor}' is read under a select guard; vector lanes would read it out of bounds`,
        );
      checkContiguous(lp, r.tensor, r.idx, loop.v, `read of ${r.tensor}`, fail, false);
    });
  }
}

function checkContiguous(
  lp: LoweredProgram,
  buffer: string,
  idx: readonly IntExpr[],
  v: string,
  what: string,
  fail: (why: string) => never,
  mustDepend: boolean,
): void {
  const shape = lp.buffers.find((b) => b.name === buffer)?.shape;
  if (!shape) throw new Error(`lowering: no buffer '${buffer}'`);
  const last = idx.length - 1;
  let depends = false;
  let contiguous = true;
  idx.forEach((x, d) => {
    const c = coefficientOf(x, v);
    if (c === null) fail(`${what} depends on the vectorized loop non-linearly (${printInt(x)})`);
    if (c === 0) return;
    if (d !== last || c !== 1) contiguous = false;
    depends = true;
  });
  if (!contiguous)
    fail(
      `${what} is not contiguous along the vectorized loop (stride ${strideAlong(idx, shape, v)} elements); reorder or pack so it is innermost`,
    );
  if (mustDepend && !depends)
    fail(`${what} does not depend on the vectorized loop; all lanes would write one element`);
}

/** Every index expression an integer comparison (a select's condition) compares. */
function forEachIndexCompared(e: Expr, visit: (x: IntExpr) => void): void {
  const cond = (c: Cond): void => {
    if (c.k === "icmp") {
      visit(c.a);
      visit(c.b);
    } else if (c.k === "fcmp") {
      forEachIndexCompared(c.a, visit);
      forEachIndexCompared(c.b, visit);
    } else {
      cond(c.a);
      cond(c.b);
    }
  };
  switch (e.k) {
    case "bin":
      forEachIndexCompared(e.a, visit);
      forEachIndexCompared(e.b, visit);
      return;
    case "un":
      forEachIndexCompared(e.a, visit);
      return;
    case "select":
      cond(e.cond);
      forEachIndexCompared(e.a, visit);
      forEachIndexCompared(e.b, visit);
      return;
    default:
      return;
  }
}
