/** Recipes for memory-bound row operators: vector accumulators and the one-pass form. */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import {
  fewRowsAroundWeights,
  rowsInOnePass,
  streamedRows,
  vectorReduction,
} from "../../src/models/offline/row-reductions.ts";
import { findTarget } from "../../src/target/detect.ts";
import type { Target } from "../../src/target/target.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const tile = { mr: 8, nr: 32, width: 16, kc: 256, maxRows: 8, widestNr: 32, widths: [16, 8, 4] };
const opts = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

describe("vector accumulators recipe", () => {
  it("splits the row into 4 unrolled vectors of 16 lanes accumulated in registers", () => {
    const s = Schedule.initial(instantiate("rmsnorm", "small", { rows: 7, cols: 331 }));
    const sumSq = s.state.stages.find((st) => st.name === "sum_sq")!;
    expect(vectorReduction(s, sumSq, tile)?.steps.map(printTransform)).toEqual([
      "split sum_sq.j 64 -> jo j1",
      "split sum_sq.j1 16 -> ja jv",
      "cache_write sum_sq at i",
      "unroll sum_sq.ja",
      "vectorize sum_sq.jv",
    ]);
  });

  it("uses one vector for rows shorter than four", () => {
    const s = Schedule.initial(instantiate("rmsnorm", "small", { rows: 3, cols: 40 }));
    const sumSq = s.state.stages.find((st) => st.name === "sum_sq")!;
    expect(vectorReduction(s, sumSq, tile)?.steps.map(printTransform)).toEqual([
      "split sum_sq.j 16 -> jo jv",
      "cache_write sum_sq at i",
      "vectorize sum_sq.jv",
    ]);
  });
});

describe("one-pass recipe", () => {
  const CASES = [
    ["rmsnorm", { rows: 7, cols: 331 }, { sum_sq: "Y.i" }],
    ["layernorm", { rows: 6, cols: 197 }, { variance: "Y.i", mean: "Y.i" }],
    ["softmax", { rows: 5, cols: 203 }, { row_sum: "Y.i", exps: "Y.i", row_max: "exps.i" }],
  ] as const;

  it("computes every row statistic inside the row loop that reads it", () => {
    for (const [workload, shape, placements] of CASES) {
      const r = rowsInOnePass(Schedule.initial(instantiate(workload, "small", shape)), tile, 2);
      expect(r, workload).toBeDefined();
      for (const [stage, at] of Object.entries(placements)) {
        expect(r!.steps.map(printTransform), workload).toContain(`compute_at ${stage} at ${at}`);
      }
      expect(r!.steps.map(printTransform)).toContain("parallel Y.i");
    }
  });

  it("blocks the output rows by 2 around row-invariant operands (layernorm's gamma, beta)", () => {
    const r = rowsInOnePass(
      Schedule.initial(instantiate("layernorm", "small", { rows: 6, cols: 197 })),
      tile,
      2,
      2,
    );
    const steps = r!.steps.map(printTransform);
    expect(steps).toEqual(
      expect.arrayContaining([
        "split Y.i 2 -> io ib",
        "reorder Y io jo ib jv",
        "unroll Y.ib",
        "compute_at variance at Y.io",
        "compute_at mean at Y.io",
        "parallel Y.io",
      ]),
    );
    // Whole blocks only (a guarded last block keeps the rsqrt in the vector loop), and
    // softmax reads no row-invariant operand: no blocked form.
    expect(
      rowsInOnePass(
        Schedule.initial(instantiate("layernorm", "small", { rows: 7, cols: 197 })),
        tile,
        2,
        2,
      ),
    ).toBeUndefined();
    expect(
      rowsInOnePass(Schedule.initial(instantiate("softmax", "small")), tile, 2, 2),
    ).toBeUndefined();
  });

  it("leaves contractions to their own recipes", () => {
    for (const workload of ["matmul", "flux-attention", "llama4-scout-mlp"])
      expect(
        rowsInOnePass(Schedule.initial(instantiate(workload, "small")), tile, 2),
      ).toBeUndefined();
  });

  it("computes the reference at odd shapes on 2 threads, rows blocked or not", async () => {
    const blocked = [
      ["rmsnorm", { rows: 8, cols: 331 }],
      ["layernorm", { rows: 6, cols: 197 }],
    ] as const;
    const schedules = [
      ...CASES.map(
        ([w, shape]) => [w, Schedule.initial(instantiate(w, "small", shape)), 1] as const,
      ),
      ...blocked.map(
        ([w, shape]) => [w, Schedule.initial(instantiate(w, "small", shape)), 2] as const,
      ),
    ];
    const results = await inBatches(schedules, 2, ([, initial, rows]) =>
      verifySchedule(rowsInOnePass(initial, tile, 2, rows)!.schedule, opts),
    );
    results.forEach((r, n) =>
      expect(r.verified, `${schedules[n][0]} (${schedules[n][2]} rows): ${r.error}`).toBe(true),
    );
  });
});

/** A target whose private caches (1 KiB) are smaller than the small shapes' tensors. */
const smallCaches = (name: string): Target => {
  const t = findTarget(name);
  return { ...t, caches: { ...t.caches, l2Bytes: 1024 } };
};

describe("streamed one-pass recipe", () => {
  it("streams the output and prefetches the next row of each row input (stream_store on x86 only)", () => {
    const onePass = rowsInOnePass(
      Schedule.initial(instantiate("layernorm", "small", { rows: 6, cols: 197 })),
      tile,
      2,
    )!;
    const added = (target: string) =>
      streamedRows(onePass, smallCaches(target), 2)!
        .steps.slice(onePass.steps.length)
        .map(printTransform);
    expect(added("x86-avx512")).toEqual(["stream_store Y", "prefetch X in Y at jo ahead i 4"]);
    expect(added("aarch64-neon")).toEqual(["prefetch X in Y at jo ahead i 4"]);
    // Tensors that stay in the private caches of the cores used gain nothing from either.
    expect(streamedRows(onePass, findTarget("x86-avx512"), 2)).toBeUndefined();
  });

  it("prefetches from the stage computed in the output's row that reads the row input (softmax's exps)", () => {
    const softmax = rowsInOnePass(
      Schedule.initial(instantiate("softmax", "small", { rows: 5, cols: 203 })),
      tile,
      2,
    )!;
    const added = streamedRows(softmax, smallCaches("x86-avx512"), 2)!
      .steps.slice(softmax.steps.length)
      .map(printTransform);
    expect(added).toEqual(["stream_store Y", "prefetch X in exps at jo ahead i 4"]);
    expect(streamedRows(softmax, findTarget("x86-avx512"), 2)).toBeUndefined();
  });

  it("computes the reference at odd shapes on 2 threads", async () => {
    const cases = [
      ["rmsnorm", { rows: 7, cols: 331 }],
      ["layernorm", { rows: 6, cols: 197 }],
      ["softmax", { rows: 5, cols: 203 }],
    ] as const;
    const results = await inBatches(cases, 2, ([w, shape]) => {
      const onePass = rowsInOnePass(Schedule.initial(instantiate(w, "small", shape)), tile, 2)!;
      return verifySchedule(streamedRows(onePass, smallCaches("x86-avx512"), 2)!.schedule, opts);
    });
    results.forEach((r, n) => expect(r.verified, `${cases[n][0]}: ${r.error}`).toBe(true));
  });
});

describe("pipelined rows on one thread", () => {
  it("overlaps softmax's next row with this row's output, and computes the reference", async () => {
    const cases = [
      { rows: 5, cols: 203 },
      { rows: 9, cols: 64 },
    ];
    const recipes = cases.map((shape) => {
      const program = instantiate("softmax", "small", shape);
      const onePass = rowsInOnePass(Schedule.initial(program), tile, 1)!;
      return streamedRows(onePass, smallCaches("x86-avx512"), 1)!;
    });
    for (const r of recipes) {
      expect(r.steps.map(printTransform)).toEqual(
        expect.arrayContaining(["stream_store Y", "pipeline Y.i"]),
      );
    }
    const results = await inBatches(recipes, 2, (r) => verifySchedule(r.schedule, opts));
    results.forEach((r, n) =>
      expect(r.verified, `${JSON.stringify(cases[n])}: ${r.error}`).toBe(true),
    );
  });
});

describe("pipelined rows in each thread's part", () => {
  it("splits the rows into one part per thread, computes the row's intermediates in its rows and pipelines them", () => {
    const program = instantiate("softmax", "small", { rows: 9, cols: 64 });
    const parts = rowsInOnePass(Schedule.initial(program), tile, 2, 1, "parts")!;
    const steps = streamedRows(parts, smallCaches("x86-avx512"), 2)!.steps.map(printTransform);
    expect(steps).toEqual(
      expect.arrayContaining([
        "split Y.i 5 -> it ir",
        "parallel Y.it",
        "compute_at exps at Y.ir",
        "prefetch X in exps at jo ahead i 4",
        "pipeline Y.ir",
      ]),
    );
    expect(rowsInOnePass(Schedule.initial(program), tile, 1, 1, "parts")).toBeUndefined();
  });

  it("computes the reference at odd shapes on 2 threads", async () => {
    const cases = [
      ["rmsnorm", { rows: 7, cols: 331 }, 1],
      ["layernorm", { rows: 6, cols: 197 }, 2],
      ["softmax", { rows: 5, cols: 203 }, 1],
      ["softmax", { rows: 11, cols: 64 }, 1],
    ] as const;
    const results = await inBatches(cases, 2, ([w, shape, rows]) => {
      const program = instantiate(w, "small", shape);
      const parts = rowsInOnePass(Schedule.initial(program), tile, 2, rows, "parts")!;
      return verifySchedule(streamedRows(parts, smallCaches("x86-avx512"), 2)!.schedule, opts);
    });
    results.forEach((r, n) => expect(r.verified, `${cases[n][0]}: ${r.error}`).toBe(true));
  });
});

describe("few-rows recipe", () => {
  it("computes the statistics in their own pass and puts the rows inside the weight's loop", () => {
    const s = Schedule.initial(instantiate("rmsnorm", "small", { rows: 7, cols: 331 }));
    const steps = fewRowsAroundWeights(s, tile)!.steps.map(printTransform);
    expect(steps).toEqual(
      expect.arrayContaining([
        "cache_write sum_sq at i",
        "split Y.j 16 -> jo jv",
        "reorder Y jo i jv",
      ]),
    );
    expect(steps.some((x) => x.startsWith("compute_at"))).toBe(false);
  });

  it("is offered only for a few rows against a weight", () => {
    const initial = (w: string, shape: Record<string, number>) =>
      Schedule.initial(instantiate(w, "small", shape));
    expect(fewRowsAroundWeights(initial("rmsnorm", { rows: 9, cols: 64 }), tile)).toBeUndefined();
    expect(fewRowsAroundWeights(initial("softmax", { rows: 5, cols: 64 }), tile)).toBeUndefined();
  });

  it("computes the reference at odd shapes on 2 threads", async () => {
    const cases = [
      ["rmsnorm", { rows: 7, cols: 331 }],
      ["layernorm", { rows: 3, cols: 197 }],
    ] as const;
    const results = await inBatches(cases, 2, ([w, shape]) =>
      verifySchedule(
        fewRowsAroundWeights(Schedule.initial(instantiate(w, "small", shape)), tile)!.schedule,
        opts,
      ),
    );
    results.forEach((r, n) => expect(r.verified, `${cases[n][0]}: ${r.error}`).toBe(true));
  });
});
