/**
 * Loop-invariant scalars COLT hoists itself (src/codegen/hoist.ts): with plain stores too,
 * since GCC reloads a scalar of one workspace region in a loop that stores to another, and
 * never out of a guard that keeps the read in bounds.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { invariantScalars } from "../../src/codegen/hoist.ts";
import { intConst, intVar } from "../../src/ir/int-expr.ts";
import type { Stmt } from "../../src/ir/loop-nest.ts";
import type { Expr } from "../../src/ir/program.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions();
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

/** Softmax a row at a time, its exps kept in a row buffer, plain stores (no stream_store). */
const ROW_AT_A_TIME = [
  "split row_max.j 16 -> jo jv",
  "cache_write row_max at i",
  "vectorize row_max.jv",
  "split exps.j 16 -> jo jv",
  "vectorize exps.jv",
  "split row_sum.j 16 -> jo jv",
  "cache_write row_sum at i",
  "vectorize row_sum.jv",
  "split Y.j 16 -> jo jv",
  "vectorize Y.jv",
  "compute_at row_sum at Y.i",
  "compute_at exps at Y.i",
  "compute_at row_max at exps.i",
].join("\n");

const softmax = (rows: number, cols: number) => instantiate("softmax", "small", { rows, cols });

describe("hoisting loop-invariant scalars", () => {
  it("hoists a row's max and sum out of the loops over its columns with plain stores", () => {
    const { source } = generateC(
      Schedule.fromTrace(softmax(8, 64), parseTrace(ROW_AT_A_TIME)).lower(),
    );
    expect(source).not.toContain("colt_stream");
    expect(source).toMatch(/const float colt_hoisted_\d+ = row_max_region\[/);
    expect(source).toMatch(/const float colt_hoisted_\d+ = row_sum_region\[/);
    expect(source).toMatch(/\* \(1\.0f \/ colt_hoisted_\d+\)/);
  });

  it("computes the reference with the hoisted scalars, aligned rows and ragged ones", async () => {
    const cases = [softmax(8, 64), softmax(7, 45)];
    const results = await inBatches(cases, 2, (p) =>
      verifySchedule(Schedule.fromTrace(p, parseTrace(ROW_AT_A_TIME)), opts),
    );
    results.forEach((r, n) => expect(r.verified, `${cases[n].name}: ${r.error}`).toBe(true));
  });

  it("leaves a read under a guard where the guard keeps it in bounds", () => {
    const norm: Expr = { k: "read", tensor: "norm", idx: [intVar("i")] };
    const value: Expr = {
      k: "bin",
      op: "*",
      a: { k: "read", tensor: "X", idx: [intVar("i"), intVar("j")] },
      b: norm,
    };
    const store: Stmt = { k: "store", buf: "Y", idx: [intVar("i"), intVar("j")], value };
    const loop = (body: Stmt[]): Extract<Stmt, { k: "for" }> => ({
      k: "for",
      v: "j",
      extent: 16,
      count: intConst(16),
      kind: "serial",
      body,
    });
    expect(invariantScalars(loop([store])).map((s) => s.expr)).toEqual([norm]);
    const guard = { k: "icmp", op: "<", a: intVar("i"), b: intConst(7) } as const;
    expect(invariantScalars(loop([{ k: "if", cond: guard, body: [store] }]))).toEqual([]);
  });
});
