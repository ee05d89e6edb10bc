/**
 * pipeline: a row loop whose producers of row i run fused with the output of row i-1.
 * What it accepts and refuses, the nest it lowers to (double-buffered regions, one fused
 * loop), and that the kernels compute the reference with tails on 1 and 2 threads.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, parseTransform, printTransform } from "../../src/schedule/text.ts";
import { findTarget } from "../../src/target/detect.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

/** softmax in one pass: each row's max, exps and sum inside the output's row loop. */
const ONE_PASS = [
  "split row_max.j 16 -> jo jl",
  "cache_write row_max at i",
  "vectorize row_max.jl",
  "split exps.j 16 -> jo jl",
  "vectorize exps.jl",
  "split row_sum.j 16 -> jo jl",
  "cache_write row_sum at i",
  "vectorize row_sum.jl",
  "split Y.j 16 -> jo jl",
  "vectorize Y.jl",
];
const ROWS = [
  ...ONE_PASS,
  "compute_at row_max at exps.i",
  "compute_at row_sum at Y.i",
  "compute_at exps at Y.i",
];
const PIPELINED = [...ROWS, "stream_store Y", "pipeline Y.i"];
/** Two threads: row blocks in parallel, each block's rows pipelined. */
const BLOCKS = [
  ...ONE_PASS,
  "split Y.i 4 -> io ii",
  "parallel Y.io",
  "compute_at row_max at exps.i",
  "compute_at row_sum at Y.ii",
  "compute_at exps at Y.ii",
  "pipeline Y.ii",
];

const softmax = (rows: number, cols: number) => instantiate("softmax", "small", { rows, cols });
const schedule = (program: ReturnType<typeof softmax>, lines: readonly string[]) =>
  Schedule.fromTrace(program, parseTrace(lines.join("\n")));

function refusal(program: ReturnType<typeof softmax>, lines: readonly string[]): string {
  try {
    schedule(program, lines).lower();
  } catch (e) {
    if (e instanceof ScheduleError) return e.message;
    throw e;
  }
  throw new Error("the schedule was accepted");
}

describe("pipeline", () => {
  it("prints and parses back", () => {
    expect(printTransform(parseTransform("pipeline Y.i"))).toBe("pipeline Y.i");
    expect(() => parseTransform("pipeline Y")).toThrow(/STAGE\.LOOP/);
  });

  it("runs one step more, double-buffers what the output reads, and fuses its loop into the exps loop", () => {
    const text = printLoopNest(schedule(softmax(8, 64), PIPELINED).lower());
    expect(text).toContain("buffer exps_region: float32[2, 1, 64]");
    expect(text).toContain("buffer row_sum_region: float32[2, 1]");
    // Read by exps only, in the same step: one copy is enough.
    expect(text).toContain("buffer row_max_region: float32[1]");
    expect(text).toContain("for Y.i in 0..9:");
    expect(text).toMatch(
      /for exps\.jo in 0\.\.4:\n\s+vectorized\(16\) for exps\.jl in 0\.\.16:\n\s+exps_region\[Y\.i%2, exps\.i, exps\.jo\*16 \+ exps\.jl\] = [^\n]+\n\s+vectorized\(16\) for Y\.jl in 0\.\.16:\n\s+Y\[Y\.i - 1, exps\.jo\*16 \+ Y\.jl\] = \(exps_region\[\(Y\.i \+ 1\)%2/,
    );
    const { source } = generateC(schedule(softmax(8, 64), PIPELINED).lower());
    expect(source).toContain("colt_stream_v16(&Y");
  });

  it("computes the reference on 1 thread and, row blocks in parallel, on 2, with tails", async () => {
    const cases: [ReturnType<typeof softmax>, readonly string[]][] = [
      [softmax(8, 64), PIPELINED],
      [softmax(7, 203), PIPELINED],
      [softmax(1, 45), PIPELINED],
      [softmax(16, 64), BLOCKS],
      // 4 rows per block over 11: the last block has 3, and its own last step.
      [softmax(11, 203), BLOCKS],
    ];
    const results = await inBatches(cases, 2, ([p, lines]) =>
      verifySchedule(schedule(p, lines), opts),
    );
    results.forEach((r, n) => expect(r.verified, `${cases[n][0].name}: ${r.error}`).toBe(true));
  });

  it("refuses a parallel, reduction or inner stage's loop, and a body it cannot overlap", () => {
    const p = softmax(8, 64);
    expect(refusal(p, [...ROWS, "parallel Y.i", "pipeline Y.i"])).toMatch(
      /cannot pipeline a loop marked parallel/,
    );
    expect(refusal(p, [...ROWS, "pipeline Y.i", "parallel Y.i"])).toMatch(
      /pipelined; it stays serial/,
    );
    expect(refusal(p, [...ROWS, "pipeline Y.i", "split Y.i 2"])).toMatch(
      /cannot split a loop that pipeline, compute_at of exps, compute_at of row_sum is attached to/,
    );
    expect(refusal(p, [...ROWS, "pipeline row_sum.i"])).toMatch(/computed inside another stage/);
    expect(refusal(p, ["pipeline row_sum.j"])).toMatch(/reduction loop/);
    expect(refusal(p, [...ROWS, "pipeline Y.i", "pipeline Y.i"])).toMatch(/already pipelines/);
    expect(refusal(p, [...ONE_PASS, "pipeline Y.i"])).toMatch(/nothing is computed at this loop/);
    // The output's loop has 8 steps of 8, the exps loop 4 of 16: no loop to run them in.
    const unmatched = ROWS.map((l) => (l === "split Y.j 16 -> jo jl" ? "split Y.j 8 -> jo jl" : l));
    expect(
      refusal(p, [
        ...unmatched.filter((l) => l !== "vectorize Y.jl"),
        "vectorize Y.jl",
        "pipeline Y.i",
      ]),
    ).toMatch(/no loop of the producers has as many steps/);
  });

  it("is offered for a serial row loop with producers computed in it", () => {
    const offered = (lines: readonly string[]) =>
      legalMoves(schedule(softmax(8, 64), lines), { target: findTarget("x86-avx512"), threads: 1 })
        .map((m) => printTransform(m.transform))
        .filter((t) => t.startsWith("pipeline"));
    expect(offered(ROWS)).toEqual(["pipeline Y.i"]);
    expect(offered([...ROWS, "parallel Y.i"])).toEqual([]);
    expect(offered(ONE_PASS)).toEqual([]);
    expect(offered(PIPELINED)).toEqual([]);
  });
});
