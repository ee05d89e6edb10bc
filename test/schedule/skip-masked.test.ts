/**
 * skip_masked: the loop domain restricted to what a mask leaves, checked by the mask
 * analysis (a reduction's terms are the identity where the mask is false, or every read
 * sits under the mask) and by verification against the unscheduled program.
 */
import { describe, expect, it } from "vitest";
import type { Stmt } from "../../src/ir/loop-nest.ts";
import { printInt } from "../../src/ir/int-expr.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const causal = instantiate("llama3-8b-attention", "small", { G: 2, R: 3, S: 29, D: 12 });
const flux = instantiate("flux-attention", "small", { H: 2, S: 29, D: 12 });

const CHAIN = [
  "compute_inline logits",
  "split O.s 8 -> so si",
  "compute_at probs at O.so",
  "compute_at row_sum at O.so",
  "compute_at exp_scores at O.so",
  "compute_at row_max at O.so",
  "compute_at scores at O.so",
];
const SKIP = ["skip_masked scores", "skip_masked row_max", "skip_masked row_sum", "skip_masked O"];

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

/** The trip count of every loop of a stage's variable, as printed. */
function tripCounts(body: readonly Stmt[], loop: string): string[] {
  const out: string[] = [];
  const walk = (ss: readonly Stmt[]) => {
    for (const s of ss) {
      if (s.k === "for") {
        if (s.v === loop) out.push(printInt(s.count));
        walk(s.body);
      } else if (s.k === "if") walk(s.body);
    }
  };
  walk(body);
  return out;
}

describe("skip_masked", () => {
  it("bounds the key loops by the causal mask: exactly below the diagonal when untiled", () => {
    const lp = schedule(causal, [
      "compute_inline logits",
      "skip_masked row_max",
      "skip_masked O",
    ]).lower();
    expect(tripCounts(lp.body, "row_max.t")).toEqual(["min(29, row_max.s + 1)"]);
    expect(tripCounts(lp.body, "O.t")).toEqual(["min(29, O.s + 1)"]);
  });

  it("computes the reference result, untiled, per block in a chain, and at 2 threads", async () => {
    const cases = [
      {
        s: schedule(causal, ["compute_inline logits", "skip_masked row_max", "skip_masked O"]),
        t: 1,
      },
      { s: schedule(causal, [...CHAIN, ...SKIP]), t: 1 },
      { s: schedule(causal, [...CHAIN, ...SKIP, "parallel O.g"]), t: 2 },
      // logits kept as a stage: the scores it masks are still skippable
      { s: schedule(causal, ["skip_masked scores", "skip_masked row_max", "skip_masked O"]), t: 1 },
    ];
    const results = await inBatches(cases, 2, (c) =>
      verifySchedule(c.s, freshEvalOptions({ threads: c.t })),
    );
    for (const r of results) expect(r.error).toBeLessThan(1e-4);
  }, 120_000);

  it("refuses stages no mask voids, with the reason", () => {
    const unmasked = refusal(flux, ["compute_inline logits", "skip_masked O"]);
    expect(unmasked.stage).toBe("O");
    expect(unmasked.reason).toMatch(/no mask voids any of its work/);
    // exp_scores is read by row_sum and probs outside any mask: its masked zeros are used.
    expect(refusal(causal, ["compute_inline logits", "skip_masked exp_scores"]).stage).toBe(
      "exp_scores",
    );
    expect(refusal(causal, ["skip_masked O", "skip_masked O"]).reason).toMatch(/already skips/);
  });

  it("is offered as a move, and only where a mask voids work", () => {
    const moves = (program: typeof flux) =>
      legalMoves(schedule(program, ["compute_inline logits"]))
        .map((m) => printTransform(m.transform))
        .filter((t) => t.startsWith("skip_masked"));
    expect(moves(causal).sort()).toEqual([
      "skip_masked O",
      "skip_masked row_max",
      "skip_masked row_sum",
      "skip_masked scores",
    ]);
    expect(moves(flux)).toEqual([]);
  });
});
