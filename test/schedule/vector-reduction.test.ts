/**
 * Vectorized reductions (vector accumulators combined horizontally) and producers computed
 * inside a loop that several of their consumers share: lowered, compiled by the real C
 * compiler and checked against the unscheduled reference, at odd shapes where every
 * vector loop has a tail.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

const SCHEDULES = join(import.meta.dirname, "../../examples/schedules");
const paperSchedule = (workload: string) =>
  parseTrace(readFileSync(join(SCHEDULES, `${workload}-paper.sched`), "utf8"));

describe("a vectorized reduction loop", () => {
  const rmsnorm = (text: string, shape = { rows: 7, cols: 331 }) =>
    Schedule.fromTrace(instantiate("rmsnorm", "small", shape), parseTrace(text));

  it("accumulates in vector registers and combines the lanes after the reduction", () => {
    const nest = printLoopNest(
      rmsnorm("split sum_sq.j 16 -> jo jl\ncache_write sum_sq at i\nvectorize sum_sq.jl").lower(),
    );
    expect(nest).toContain("local sum_sq_local: float32[16] (registers)");
    expect(nest).toMatch(
      /vectorized\(16\) for sum_sq\.jl in 0\.\.16:\n\s+sum_sq_local\[sum_sq\.jl\] = 0/,
    );
    expect(nest).toMatch(
      /vectorized\(16\) for sum_sq\.jl in 0\.\.min\(16, .*\n\s+sum_sq_local\[sum_sq\.jl\] \+=/,
    );
    // A balanced tree over the 16 lanes, after the reduction loops.
    expect(nest).toContain(
      "sum_sq[sum_sq.i] = ((((sum_sq_local[0] + sum_sq_local[1]) + (sum_sq_local[2] + sum_sq_local[3]))",
    );
  });

  it("folds several accumulators into the first, a vector at a time, before the lanes", () => {
    const nest = printLoopNest(
      rmsnorm(
        "split sum_sq.j 64 -> jo j1\nsplit sum_sq.j1 16 -> jv jl\ncache_write sum_sq at i\nunroll sum_sq.jv\nvectorize sum_sq.jl",
      ).lower(),
    );
    expect(nest).toContain("local sum_sq_local: float32[4, 16] (registers)");
    for (const a of [1, 2, 3])
      expect(nest).toMatch(
        new RegExp(
          `vectorized\\(16\\) for sum_sq\\.jl in 0\\.\\.16:\n\\s+sum_sq_local\\[0, sum_sq\\.jl\\] \\+= sum_sq_local\\[${a}, sum_sq\\.jl\\]`,
        ),
      );
    expect(nest).toContain("sum_sq[sum_sq.i] = ((((sum_sq_local[0, 0] + sum_sq_local[0, 1])");
    expect(nest).not.toContain("sum_sq_local[1, 0]");
  });

  it("computes the reference with one accumulator, several, and blocks of rows", async () => {
    const traces = [
      // 331 = 20 x 16 + 11: the last vector iteration is a scalar tail into the lanes.
      "split sum_sq.j 16 -> jo jl\ncache_write sum_sq at i\nvectorize sum_sq.jl",
      // 4 accumulators of 8 lanes; 331 = 10 x 32 + 11: guarded unrolled copies.
      "split sum_sq.j 32 -> jo j1\nsplit sum_sq.j1 8 -> jv jl\ncache_write sum_sq at i\nunroll sum_sq.jv\nvectorize sum_sq.jl",
      // 2 rows per block (7 = 3 x 2 + 1), unrolled, each row its own vector accumulator.
      "split sum_sq.i 2 -> io ii\nsplit sum_sq.j 4 -> jo jl\nreorder sum_sq io jo ii jl\ncache_write sum_sq at io\nunroll sum_sq.ii\nvectorize sum_sq.jl",
      // the accumulator set up before the reduction, the statistic computed per output row.
      "split sum_sq.j 16 -> jo jl\ncache_write sum_sq at i\nvectorize sum_sq.jl\ncompute_at sum_sq at Y.i\nparallel Y.i",
    ];
    const results = await inBatches(traces, 2, (t) => verifySchedule(rmsnorm(t), opts));
    results.forEach((r, n) => expect(r.verified, `${traces[n]}: error ${r.error}`).toBe(true));
  });

  it("leaves a sum's constant factor to the write-back: once per row, not per element", async () => {
    const program = instantiate("layernorm", "small", { rows: 6, cols: 197 });
    const trace =
      "split mean.j 32 -> jo j1\nsplit mean.j1 8 -> jv jl\ncache_write mean at i\nunroll mean.jv\nvectorize mean.jl";
    const s = Schedule.fromTrace(program, parseTrace(trace));
    const nest = printLoopNest(s.lower());
    expect(nest).toMatch(/mean_local\[mean\.jv, mean\.jl\] \+= X\[mean\.i, [^\]]+\]\n/);
    expect(nest).toMatch(/mean\[mean\.i\] = \(\(\(\(mean_local\[0, 0\].*\) \* 0\.00507614/);
    // 197 = 6 x 32 + 5: the scalar tail accumulates the unscaled term too.
    const r = await verifySchedule(s, opts);
    expect(r.verified, `error ${r.error}`).toBe(true);
  });

  it("starts a max accumulator at -inf, so tail lanes never win", async () => {
    const program = instantiate("softmax", "small", { rows: 5, cols: 37 });
    const trace = "split row_max.j 8 -> jo jl\ncache_write row_max at i\nvectorize row_max.jl";
    const r = await verifySchedule(Schedule.fromTrace(program, parseTrace(trace)), opts);
    expect(r.verified, `error ${r.error}`).toBe(true);
  });
});

describe("a producer computed inside a loop that its other consumers are computed in", () => {
  it("stores one softmax row of exps that the sum and the normalization both read", () => {
    const program = instantiate("softmax", "small", { rows: 3, cols: 77 });
    const s = Schedule.fromTrace(
      program,
      parseTrace("compute_at row_sum at Y.i\ncompute_at exps at Y.i"),
    );
    const nest = printLoopNest(s.lower());
    expect(nest).toContain("buffer exps_region: float32[1, 77]");
    expect(nest).toMatch(/row_sum_region\[row_sum\.i\] \+= exps_region\[row_sum\.i, row_sum\.j\]/);
    expect(nest).toMatch(/Y\[Y\.i, Y\.j\] = \(exps_region\[0, Y\.j\] \/ row_sum_region\[0\]\)/);
  });
});

describe("the paper-size hand schedules at odd shapes", () => {
  const CASES = [
    ["rmsnorm", { rows: 7, cols: 331 }],
    ["layernorm", { rows: 6, cols: 197 }],
    // Past one part of the hand schedule's rows (16384 per thread): the second part has 5.
    ["softmax", { rows: 16389, cols: 203 }],
  ] as const;

  it("compute the reference on 2 threads, every vector loop with a tail", async () => {
    const results = await inBatches(CASES, 2, ([workload, shape]) =>
      verifySchedule(
        Schedule.fromTrace(instantiate(workload, "small", shape), paperSchedule(workload)),
        opts,
      ),
    );
    results.forEach((r, n) => expect(r.verified, `${CASES[n][0]}: error ${r.error}`).toBe(true));
  });
  it("normalize a vector by a row's sum with one reciprocal, not a vector divide", () => {
    const program = instantiate("softmax", "small", { rows: 16389, cols: 203 });
    const { source } = generateC(Schedule.fromTrace(program, paperSchedule("softmax")).lower());
    // The row's sum is read in place, or hoisted out of the loop over the row.
    expect(source).toMatch(/\* \(1\.0f \/ (row_sum_region\[0\]|colt_hoisted_\d+)\)\)/);
    expect(source).not.toMatch(/\) \/ (row_sum_region|colt_hoisted)/);
  });
});
