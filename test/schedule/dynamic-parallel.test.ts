/**
 * `parallel S.L dynamic C`: iterations handed out in chunks to whichever thread is free.
 * What it accepts and refuses, what it generates, that its kernels compute the reference
 * (per-thread workspace regions and tails included), and who offers it.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { rowsInOnePass, streamedRows } from "../../src/models/offline/row-reductions.ts";
import { candidateMoves } from "../../src/schedule/enumerate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, parseTransform, printTransform } from "../../src/schedule/text.ts";
import { findTarget } from "../../src/target/detect.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const one = freshEvalOptions({ threads: 1 });
const two = freshEvalOptions({ threads: 2 });
afterAll(() => {
  for (const o of [one, two]) rmSync(o.cacheDir, { recursive: true, force: true });
});

const tile = { mr: 8, nr: 32, width: 16, kc: 256, maxRows: 8, widestNr: 32, widths: [16, 8, 4] };

/** rmsnorm in one pass, its rows in blocks of 3 (a tail), the blocks shared out dynamically. */
const BLOCKS = [
  "split sum_sq.j 16 -> jo jl",
  "cache_write sum_sq at i",
  "vectorize sum_sq.jl",
  "split Y.i 3 -> io ii",
  "split Y.j 16 -> jo jl",
  "vectorize Y.jl",
  "compute_at sum_sq at Y.ii",
  "parallel Y.io dynamic 4",
];

const rmsnorm = (rows: number, cols: number) => instantiate("rmsnorm", "small", { rows, cols });

describe("parallel ... dynamic", () => {
  it("prints and parses back, and explains malformed lines", () => {
    for (const line of ["parallel Y.i dynamic 16", "parallel Y.i"])
      expect(printTransform(parseTransform(line))).toBe(line);
    expect(() => parseTransform("parallel Y.i dynamic")).toThrow(
      /expected 'parallel STAGE.LOOP \[dynamic CHUNK\]'/,
    );
    expect(() => parseTransform("parallel Y.i dynamic 0")).toThrow(/positive integer/);
    expect(() => parseTransform("parallel Y.i static 4")).toThrow(
      /expected 'dynamic', got 'static'/,
    );
  });

  it("refuses a chunk that leaves fewer than two chunks", () => {
    expect(() => Schedule.fromTrace(rmsnorm(9, 40), parseTrace("parallel Y.i dynamic 5"))).toThrow(
      /stage Y, loop i: a chunk of 5 leaves the 9 iterations fewer than two chunks/,
    );
  });

  it("hands the loop out in chunks in the nest and in the C", () => {
    const lowered = Schedule.fromTrace(rmsnorm(77, 40), parseTrace(BLOCKS.join("\n"))).lower();
    expect(printLoopNest(lowered)).toMatch(/parallel dynamic\(4\) for Y\.io in 0\.\.26/);
    const { source } = generateC(lowered);
    expect(source).toContain("#pragma omp parallel for schedule(dynamic, 4)");
    const plain = Schedule.fromTrace(rmsnorm(77, 40), parseTrace("parallel Y.i")).lower();
    expect(generateC(plain).source).toContain("#pragma omp parallel for schedule(static)");
    expect(printLoopNest(plain)).not.toContain("dynamic");
  });

  it("computes the reference on 1 and 2 threads, per-thread accumulators and a tail block", async () => {
    const schedule = Schedule.fromTrace(rmsnorm(77, 40), parseTrace(BLOCKS.join("\n")));
    const results = await inBatches([one, two], 2, (o) => verifySchedule(schedule, o));
    results.forEach((r, n) => expect(r.verified, `${n + 1} threads: error ${r.error}`).toBe(true));
  }, 60_000);

  it("is offered as a move on several threads only, where each thread gets 32 chunks", () => {
    const initial = Schedule.initial(rmsnorm(128, 40));
    const dynamic = (threads: number) =>
      candidateMoves(initial, { threads })
        .filter((t) => t.kind === "parallel" && t.chunk !== undefined)
        .map(printTransform);
    expect(dynamic(2)).toContain("parallel Y.i dynamic 2");
    expect(dynamic(1)).toEqual([]);
    const few = Schedule.initial(rmsnorm(63, 40));
    expect(candidateMoves(few, { threads: 2 }).some((t) => t.kind === "parallel" && t.chunk)).toBe(
      false,
    );
  });

  it("turns a static parallel loop dynamic (a tune from a best with equal parts), once", () => {
    const program = rmsnorm(130, 40);
    const equal = Schedule.fromTrace(program, parseTrace("parallel Y.i"));
    const offered = candidateMoves(equal, { threads: 2 })
      .filter((t) => t.kind === "parallel")
      .map(printTransform);
    expect(offered).toContain("parallel Y.i dynamic 2");
    const shared = equal.apply(parseTransform("parallel Y.i dynamic 2"));
    expect(printLoopNest(shared.lower())).toContain("parallel dynamic(2) for Y.i in 0..130");
    expect(() => shared.apply(parseTransform("parallel Y.i dynamic 4"))).toThrow(
      /loop is already marked parallel/,
    );
    expect(() => equal.apply(parseTransform("parallel Y.i"))).toThrow(
      /loop is already marked parallel/,
    );
    const again = candidateMoves(shared, { threads: 2 });
    // Nor a second parallel loop (one level only).
    expect(again.some((t) => t.kind === "parallel" && t.stage === "Y")).toBe(false);
  });

  it("is how the one-pass recipe shares rows out dynamically, streamed, and verified", async () => {
    const program = rmsnorm(130, 40);
    const shared = rowsInOnePass(Schedule.initial(program), tile, 2, 1, "dynamic")!;
    expect(shared.steps.map(printTransform)).toContain("parallel Y.i dynamic 2");
    expect(shared.name).toContain("rows shared out dynamically");
    expect(rowsInOnePass(Schedule.initial(program), tile, 1, 1, "dynamic")).toBeUndefined();
    const streamed = streamedRows(shared, findTarget("x86-avx512"), 2) ?? shared;
    const r = await verifySchedule(streamed.schedule, two);
    expect(r.verified, `error ${r.error}`).toBe(true);
  }, 60_000);
});
