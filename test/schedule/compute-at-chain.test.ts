/**
 * compute_at of a chain: attention's scores, row statistics and probabilities computed per
 * query block inside O's block loop, in buffers the size of one block, verified against
 * the unscheduled program with the real compiler at odd shapes, at 1 and 2 threads.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const CHAIN = [
  "compute_inline logits",
  "split O.s 8 -> so si",
  "compute_at probs at O.so",
  "compute_at row_sum at O.so",
  "compute_at exp_scores at O.so",
  "compute_at row_max at O.so",
  "compute_at scores at O.so",
];

/** The paper schedules' shape at a small size: register-tiled Q·K^T and P·V per block. */
const TILED = [
  "compute_inline logits",
  "split O.s 16 -> so s1",
  "split O.s1 4 -> sr s2",
  "split O.d 16 -> dc dl",
  "reorder O h so sr dc t s2 dl",
  "cache_write O at dc",
  "unroll O.s2",
  "vectorize O.dl",
  "compute_at probs at O.so",
  "compute_at row_sum at O.so",
  "compute_at exp_scores at O.so",
  "compute_at row_max at O.so",
  "compute_at scores at O.so",
  "split scores.t 16 -> tc tl",
  "split scores.s 4 -> sr s2",
  "reorder scores h tc sr d s2 tl",
  "pack K in scores at tc",
  "cache_write scores at sr",
  "unroll scores.s2",
  "vectorize scores.tl",
  "split probs.t 16 -> to tl",
  "vectorize probs.tl",
];

const llama = instantiate("llama3-8b-attention", "small", { G: 2, R: 3, S: 29, D: 12 });
const flux = instantiate("flux-attention", "small", { H: 3, S: 37, D: 12 });
const fluxEven = instantiate("flux-attention", "small", { H: 2, S: 48, D: 32 });

const schedule = (program: typeof flux, lines: readonly string[]) =>
  Schedule.fromTrace(program, parseTrace(lines.join("\n")));

function refusal(program: typeof flux, lines: readonly string[]): ScheduleError {
  try {
    schedule(program, lines);
  } catch (e) {
    if (e instanceof ScheduleError) return e;
    throw e;
  }
  throw new Error("the schedule was accepted");
}

describe("compute_at of a chain of producers at one consumer loop", () => {
  it("keeps a query block's scores, statistics and probabilities in block-sized buffers", () => {
    const lp = schedule(llama, CHAIN).lower();
    const temps = lp.buffers.filter((b) => b.role === "temp").map((b) => [b.name, b.shape]);
    expect(temps).toEqual([
      ["scores_region", [1, 1, 8, 29]],
      ["row_max_region", [1, 1, 8]],
      ["exp_scores_region", [1, 1, 8, 29]],
      ["row_sum_region", [1, 1, 8]],
      ["probs_region", [1, 1, 8, 29]],
    ]);
  });

  it("computes the same result as the unscheduled program, causal and not, at 1 and 2 threads", async () => {
    const two = freshEvalOptions({ threads: 2 });
    const one = freshEvalOptions();
    const cases = [
      { s: schedule(llama, CHAIN), opts: one },
      { s: schedule(flux, CHAIN), opts: one },
      { s: schedule(fluxEven, TILED), opts: one },
      { s: schedule(llama, [...CHAIN, "parallel O.g"]), opts: two },
      { s: schedule(fluxEven, [...TILED, "parallel O.h"]), opts: two },
    ];
    const parallel = cases[4].s.lower().buffers.find((b) => b.name === "scores_region");
    expect(parallel?.perThread).toBe(true);
    const results = await inBatches(cases, 2, (c) => verifySchedule(c.s, c.opts));
    for (const r of results) expect(r.error).toBeLessThan(1e-4);
  }, 120_000);

  it("holds the paper schedules' blocks in buffers of a block, per thread", () => {
    for (const [workload, shape] of [
      ["flux-attention", [1, 128, 1024]],
      ["llama3-8b-attention", [1, 4, 32, 1024]],
    ] as const) {
      const text = readFileSync(
        new URL(`../../examples/schedules/${workload}-paper.sched`, import.meta.url),
        "utf8",
      );
      const lp = Schedule.fromTrace(instantiate(workload, "paper"), parseTrace(text)).lower();
      const scores = lp.buffers.find((b) => b.name === "scores_region");
      expect(scores?.shape, workload).toEqual(shape);
      expect(scores?.perThread, workload).toBe(true);
      expect(lp.buffers.some((b) => b.name === "scores" || b.name === "probs")).toBe(false);
    }
  });

  it("refuses a producer whose consumers are not all computed at that loop", () => {
    const early = refusal(flux, ["split O.s 8 -> so si", "compute_at exp_scores at O.so"]);
    expect(early.stage).toBe("exp_scores");
    expect(early.reason).toMatch(
      /every consumer of 'exp_scores' to be O or computed at O\.so; 'exp_scores' is read by row_sum, probs \(row_sum, probs not there\)/,
    );
    const split = refusal(flux, [
      "split O.s 8 -> so si",
      "compute_at probs at O.si",
      "compute_at row_sum at O.so",
    ]);
    expect(split.reason).toMatch(/'row_sum' is read by probs \(probs not there\)/);
  });

  it("refuses moving a chain member away from the producers computed beside it", () => {
    const moved = refusal(flux, [...CHAIN, "compute_at probs at O.si"]);
    expect(moved.stage).toBe("exp_scores");
    expect(moved.reason).toMatch(/'exp_scores' is read by row_sum, probs \(probs not there\)/);
  });

  it("is offered as a move once the producer's other consumers are at the loop", () => {
    const moves = (lines: readonly string[]) =>
      legalMoves(schedule(flux, lines)).map((m) => printTransform(m.transform));
    const start = ["compute_inline logits", "split O.s 8 -> so si", "compute_at probs at O.so"];
    expect(moves(start)).toContain("compute_at row_sum at O.so");
    expect(moves(start)).not.toContain("compute_at exp_scores at O.so");
    expect(moves([...start, "compute_at row_sum at O.so"])).toContain(
      "compute_at exp_scores at O.so",
    );
    expect(moves(CHAIN.slice(0, -1))).toContain("compute_at scores at O.so");
  });
});
