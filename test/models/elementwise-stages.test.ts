/** The element-wise stages recipe: every one vectorized and, on several threads, shared out. */
import { describe, expect, it } from "vitest";
import { elementwiseStages } from "../../src/models/offline/elementwise-stages.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, printTransform } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const tile = { mr: 8, nr: 32, width: 16, kc: 32, maxRows: 8, widestNr: 32, widths: [16, 8, 4] };
const moe = () => Schedule.initial(instantiate("deepseek-r1-moe", "small"));

describe("element-wise stages recipe", () => {
  it("vectorizes the MoE's sigmoid, SiLU product and score scaling, and shares them out on two threads", async () => {
    const one = elementwiseStages(moe(), tile, 1)!;
    expect(one.name).toBe("vectorize the element-wise router_scores, act, Y");
    expect(one.steps.filter((t) => t.kind === "vectorize").map((t) => t.stage)).toEqual([
      "router_scores",
      "act",
      "Y",
    ]);
    expect(one.steps.some((t) => t.kind === "parallel")).toBe(false);

    const two = elementwiseStages(moe(), tile, 2)!;
    expect(two.steps.filter((t) => t.kind === "parallel").map(printTransform)).toEqual([
      "parallel router_scores.t",
      "parallel act.t",
      "parallel Y.t",
    ]);
    // The contractions are left alone.
    expect(two.steps.every((t) => ["router_scores", "act", "Y"].includes(t.stage))).toBe(true);
    const v = await verifySchedule(two.schedule, freshEvalOptions({ threads: 2 }));
    expect(v.verified, `error ${v.error}`).toBe(true);
  }, 60_000);

  it("shares out only a first loop with two iterations per thread, and has nothing left to do after itself", () => {
    // softmax 30x77 on 16 threads: 30 rows are fewer than two per thread.
    const softmax = Schedule.initial(instantiate("softmax", "small"));
    const wide = elementwiseStages(softmax, tile, 16)!;
    expect(wide.steps.some((t) => t.kind === "parallel")).toBe(false);
    expect(wide.steps.filter((t) => t.kind === "vectorize")).toHaveLength(2);
    const two = elementwiseStages(softmax, tile, 2)!;
    expect(elementwiseStages(two.schedule, tile, 2)).toBeUndefined();
  });

  it("leaves a stage already computed inside its consumer", () => {
    const at = Schedule.fromTrace(
      instantiate("softmax", "small"),
      parseTrace("compute_at row_sum at Y.i\ncompute_at exps at Y.i"),
    );
    const r = elementwiseStages(at, tile, 1)!;
    expect(r.steps.map((t) => t.stage)).not.toContain("exps");
  });
});
