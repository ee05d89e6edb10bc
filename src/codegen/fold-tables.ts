/**
 * Coefficient tables folded into the kernel. A table is a stage that reads nothing (the
 * Winograd transform matrices Bᵀ, Aᵀ, G): read at indices that unrolled loops make
 * constant, it is a literal, and the products it enters simplify as a hand-written
 * transform would have them. A zero coefficient removes its product from the sum, so an
 * accumulation of it disappears; a factor of ±1 leaves an addition or a subtraction.
 * Winograd's input transform computes 16 products per output of which 4 have nonzero
 * coefficients, all ±1: unrolled over its tile, it becomes 4 additions per output.
 *
 * Only zeros read from a table are dropped (they are structural: the algorithm has no
 * term there). Dropping `0 * x` elsewhere would change what an infinite or NaN `x` gives.
 */
import type { Expr } from "../ir/program.ts";

type Read = Extract<Expr, { k: "read" }>;

/** A table's entry at this read, or undefined when the read is not a table at constant indices. */
export type TableLookup = (read: Read) => number | undefined;

interface Folded {
  readonly e: Expr;
  /** A structural zero: a table's zero entry, or a product with one. */
  readonly zero: boolean;
}

const ZERO: Folded = { e: { k: "const", v: 0 }, zero: true };
const constant = (v: number): Expr => ({ k: "const", v });
const negate = (e: Expr): Expr =>
  e.k === "const"
    ? constant(-e.v)
    : e.k === "un" && e.op === "neg"
      ? e.a
      : { k: "un", op: "neg", a: e };

/** `e` with its table reads folded; the same object when nothing folded. */
export function foldTables(e: Expr, lookup: TableLookup): Expr {
  return fold(e, lookup).e;
}

function fold(e: Expr, lookup: TableLookup): Folded {
  switch (e.k) {
    case "const":
      return { e, zero: false };
    case "read": {
      const v = lookup(e);
      if (v === undefined) return { e, zero: false };
      return v === 0 ? ZERO : { e: constant(v), zero: false };
    }
    case "un": {
      const a = fold(e.a, lookup);
      if (e.op === "neg") return a.zero ? ZERO : { e: a.e === e.a ? e : negate(a.e), zero: false };
      return { e: a.e === e.a ? e : { ...e, a: a.e }, zero: false };
    }
    case "bin": {
      const a = fold(e.a, lookup);
      const b = fold(e.b, lookup);
      if (e.op === "*") {
        if (a.zero || b.zero) return ZERO;
        if (a.e.k === "const" && b.e.k === "const")
          return { e: constant(Math.fround(a.e.v * b.e.v)), zero: false };
        const unit = (x: Expr, other: Expr): Expr | undefined =>
          x.k === "const" && x.v === 1
            ? other
            : x.k === "const" && x.v === -1
              ? negate(other)
              : undefined;
        const simpler = unit(a.e, b.e) ?? unit(b.e, a.e);
        if (simpler) return { e: simpler, zero: false };
      }
      if (e.op === "+" && (a.zero || b.zero)) return a.zero ? b : a;
      if (e.op === "-" && b.zero) return a;
      if (e.op === "-" && a.zero) return { e: negate(b.e), zero: false };
      if (a.e === e.a && b.e === e.b) return { e, zero: false };
      return { e: { ...e, a: a.e, b: b.e }, zero: false };
    }
    case "select": {
      const a = fold(e.a, lookup);
      const b = fold(e.b, lookup);
      if (a.e === e.a && b.e === e.b) return { e, zero: false };
      return { e: { ...e, a: a.e, b: b.e }, zero: false };
    }
  }
}
