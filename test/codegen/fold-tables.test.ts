import { describe, expect, it } from "vitest";
import { foldTables, type TableLookup } from "../../src/codegen/fold-tables.ts";
import { intConst, intVar } from "../../src/ir/int-expr.ts";
import type { Expr } from "../../src/ir/program.ts";
import { printExpr } from "../../src/ir/print.ts";

const read = (tensor: string, ...idx: number[]): Expr => ({
  k: "read",
  tensor,
  idx: idx.map((i) => intConst(i)),
});
const x: Expr = { k: "read", tensor: "X", idx: [intVar("i")] };
const acc: Expr = { k: "read", tensor: "acc", idx: [] };
const times = (a: Expr, b: Expr): Expr => ({ k: "bin", op: "*", a, b });
const plus = (a: Expr, b: Expr): Expr => ({ k: "bin", op: "+", a, b });
// T = [0, 1, -1, 0.5]; any other tensor is not a table.
const T = [0, 1, -1, 0.5];
const lookup: TableLookup = (r) =>
  r.tensor === "T" && r.idx[0].k === "const" ? T[r.idx[0].v] : undefined;
const folded = (e: Expr) => printExpr(foldTables(e, lookup));

describe("folding coefficient tables", () => {
  it("drops a product with a zero coefficient from its sum", () => {
    expect(foldTables(plus(acc, times(times(read("T", 1), read("T", 0)), x)), lookup)).toEqual(acc);
  });

  it("turns coefficients of one and minus one into an addition or a subtraction", () => {
    expect(folded(plus(acc, times(read("T", 1), x)))).toBe(printExpr(plus(acc, x)));
    expect(folded(plus(acc, times(times(read("T", 2), read("T", 1)), x)))).toBe(
      printExpr(plus(acc, { k: "un", op: "neg", a: x })),
    );
    expect(folded(times(read("T", 2), times(read("T", 2), x)))).toBe(printExpr(x));
  });

  it("multiplies constant coefficients and keeps other ones as literals", () => {
    expect(folded(times(times(read("T", 3), read("T", 3)), x))).toBe(
      printExpr(times({ k: "const", v: 0.25 }, x)),
    );
  });

  it("keeps zeros that are not from a table, and leaves an expression without tables as it is", () => {
    const literal = plus(acc, times({ k: "const", v: 0 }, x));
    expect(foldTables(literal, lookup)).toBe(literal);
    const other = plus(acc, times(read("W", 0), x));
    expect(foldTables(other, lookup)).toBe(other);
  });
});
