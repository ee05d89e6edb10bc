/**
 * The flux-conv paper hand schedule, applied at a small shape where every split has a
 * tail (channels, reduction block, columns), compiled and checked against the reference.
 */
import { readFileSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const one = freshEvalOptions({ threads: 1 });
const two = freshEvalOptions({ threads: 2 });
afterAll(() => {
  for (const o of [one, two]) rmSync(o.cacheDir, { recursive: true, force: true });
});

describe("examples/schedules/flux-conv-paper.sched", () => {
  it("computes the reference at an odd shape on 1 and 2 threads", async () => {
    const trace = parseTrace(
      readFileSync(
        new URL("../../examples/schedules/flux-conv-paper.sched", import.meta.url),
        "utf8",
      ),
    );
    // The splits need O > 256, C > 64, W > 16; O, C and W leave tails (small enough that the
    // prepared weight, padded to whole blocks, stays within twice the weight).
    const schedule = Schedule.fromTrace(
      instantiate("flux-conv", "small", { N: 1, C: 120, H: 3, W: 18, O: 480 }),
      trace,
    );
    const results = await inBatches([one, two], 2, (opts) => verifySchedule(schedule, opts));
    results.forEach((r, n) => expect(r.verified, `${n + 1} threads: error ${r.error}`).toBe(true));
  }, 120_000);
});
