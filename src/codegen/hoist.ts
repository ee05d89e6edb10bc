/**
 * Loop-invariant scalar work hoisted out of a loop by COLT itself. GCC hoists it where a
 * loop's stores are plain; a streaming store is inline assembly, after which GCC assumes
 * any memory may have changed and recomputes a row's norm (a square root and a divide)
 * for every vector of the row.
 */
import { freeVars } from "../ir/int-expr.ts";
import type { Stmt } from "../ir/loop-nest.ts";
import { forEachRead, type Expr } from "../ir/program.ts";

/**
 * The largest scalar subexpressions of the loop's stores, constants aside, made of values
 * the loop does not change: no variable of the loop or of a loop inside it, no buffer it
 * stores to. A bare read counts: GCC still hoists arithmetic on registers (softmax's
 * reciprocal of the row sum), but not a load.
 */
export function invariantScalars(loop: Extract<Stmt, { k: "for" }>): Expr[] {
  const innerVars = new Set<string>([loop.v]);
  const written = new Set<string>();
  const values: Expr[] = [];
  const walk = (stmts: readonly Stmt[]) => {
    for (const s of stmts) {
      if (s.k === "store") {
        written.add(s.buf);
        values.push(s.value);
      } else if (s.k === "for") {
        innerVars.add(s.v);
        walk(s.body);
      } else if (s.k === "if") walk(s.body);
    }
  };
  walk(loop.body);
  const invariant = (e: Expr): boolean => {
    if (e.k === "select") return false;
    let ok = true;
    forEachRead(e, (r) => {
      if (
        written.has(r.tensor) ||
        r.idx.some((x) => [...freeVars(x)].some((v) => innerVars.has(v)))
      )
        ok = false;
    });
    return ok;
  };
  const found: Expr[] = [];
  const visit = (e: Expr) => {
    if (e.k === "const") return;
    if (invariant(e)) {
      found.push(e);
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
