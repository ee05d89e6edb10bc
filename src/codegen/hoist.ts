/**
 * Loop-invariant scalar work hoisted out of a loop by COLT itself. GCC does not: past a
 * streaming store (inline assembly) it assumes any memory may have changed, and it cannot
 * tell apart the regions COLT carves out of one workspace, so a loop that stores to one
 * region reloads a scalar of another in every iteration: softmax's reciprocal of the row
 * sum (a load and a divide per vector in flux-attention's normalization, found in its
 * assembly), rmsnorm's norm (a square root and a divide).
 */
import { evalInt, freeVars } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import { forEachRead, type Expr } from "../ir/program.ts";

/** An unrolled loop inside the hoisting loop: each of its copies sees its own constant. */
export interface UnrolledVar {
  readonly v: string;
  readonly extent: number;
}

/**
 * A hoisted value: one scalar, or one per combination of the unrolled loops it depends on
 * (a row block's norms, one per unrolled row).
 */
export interface InvariantScalar {
  readonly expr: Expr;
  readonly over: readonly UnrolledVar[];
}

/** Hoisted values per expression at most: each is a register in the loop. */
const MAX_COPIES = 16;

/**
 * The largest scalar subexpressions of the loop's stores, constants aside, made of values
 * the loop does not change: no variable of the loop or of a loop inside it (an unrolled
 * loop with a fixed trip count aside), no buffer it stores to, no coefficient table
 * (`folded`: the emitter turns its reads into constants). A bare read counts: GCC
 * still hoists arithmetic on registers (softmax's reciprocal of the row sum), but not a
 * load.
 */
export function invariantScalars(
  loop: Extract<Stmt, { k: "for" }>,
  folded: (tensor: string) => boolean = () => false,
): InvariantScalar[] {
  const variant = new Set<string>([loop.v]);
  const unrolled = new Map<string, number>();
  const written = new Set<string>();
  const values: Expr[] = [];
  // A value read under a guard may be out of bounds where the guard fails (a padded
  // convolution's input row -1): it stays where the guard protects it.
  const walk = (stmts: readonly Stmt[], guarded: boolean) => {
    for (const s of stmts) {
      if (s.k === "store") {
        written.add(s.buf);
        if (!guarded) values.push(s.value);
      } else if (s.k === "for") {
        const fixed = freeVars(s.count).size === 0 && evalInt(s.count, new Map()) === s.extent;
        if (s.kind === "unroll" && fixed) unrolled.set(s.v, s.extent);
        else variant.add(s.v);
        walk(s.body, guarded);
      } else if (s.k === "if") walk(s.body, true);
    }
  };
  walk(loop.body, false);
  /** The unrolled loops `e` depends on, or undefined when it is not invariant. */
  const dependence = (e: Expr): UnrolledVar[] | undefined => {
    if (e.k === "select") return undefined;
    const over = new Set<string>();
    let ok = true;
    forEachRead(e, (r) => {
      if (written.has(r.tensor) || folded(r.tensor)) ok = false;
      for (const x of r.idx)
        for (const v of freeVars(x)) {
          if (variant.has(v)) ok = false;
          else if (unrolled.has(v)) over.add(v);
        }
    });
    if (!ok) return undefined;
    const vars = [...over].map((v) => ({ v, extent: unrolled.get(v) ?? 1 }));
    return vars.reduce((n, u) => n * u.extent, 1) <= MAX_COPIES ? vars : undefined;
  };
  const found: InvariantScalar[] = [];
  const visit = (e: Expr) => {
    if (e.k === "const") return;
    const over = dependence(e);
    if (over) {
      found.push({ expr: e, over });
      return;
    }
    if (e.k === "un") visit(e.a);
    else if (e.k === "bin" || e.k === "select") {
      visit(e.a);
      visit(e.b);
    }
  };
  values.forEach(visit);
  return found;
}
