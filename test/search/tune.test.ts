import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { LearnedCostModel } from "../../src/costmodel/learned.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { BASELINE_TRIAL } from "../../src/search/trials.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { tune } from "../../src/search/tune.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { ObjectiveCostModel, ObjectiveRunner } from "../support/fakes.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

describe("tune (real compiler)", () => {
  it("calibrates the cost model with the baseline before the strategy ranks anything", async () => {
    const program = instantiate("softmax", "small");
    const engine = new MeasurementEngine({ ...freshEvalOptions(), minMs: 5, runTimeoutMs: 10_000 });
    const costModel = new LearnedCostModel({ profile: PROFILE, seed: 1 });
    const unscheduled = Schedule.initial(program);
    let atBaseline: { samples: number; predictedMs: number } | undefined;
    const result = await tune({
      program,
      strategy: "random",
      seed: 1,
      budget: { trials: 2 },
      engine,
      profile: PROFILE,
      threads: 1,
      proposers: [],
      costModel,
      onBaseline: () => {
        atBaseline = {
          samples: costModel.sampleCount,
          predictedMs: costModel.predictMs(unscheduled),
        };
      },
    });
    // The baseline is the model's first sample, and the model now predicts it exactly.
    expect(atBaseline?.samples).toBe(1);
    expect(atBaseline?.predictedMs).toBeCloseTo(result.baselineMs, 9);
    expect(atBaseline?.predictedMs).not.toBeCloseTo(analyticEstimateMs(unscheduled, PROFILE), 9);
    expect(costModel.sampleCount).toBe(1 + result.trials.filter((t) => t.ms !== undefined).length);
  });
});

describe("tune: the unscheduled program is a candidate", () => {
  it("keeps it as the best when every trial is slower", async () => {
    // The program as written takes 1 ms; every transformation makes it 12x slower.
    const objective = (trace: string) => (trace === "" ? 1 : 12);
    const runner = new ObjectiveRunner(objective);
    const engine = {
      measureAll: (s: readonly Schedule[]) => runner.measure(s),
      measure: async (s: Schedule) => (await runner.measure([s]))[0],
    };
    const result = await tune({
      program: instantiate("matmul", "small"),
      strategy: "random",
      seed: 1,
      budget: { trials: 3 },
      engine,
      profile: PROFILE,
      threads: 1,
      proposers: [],
      costModel: new ObjectiveCostModel(objective),
    });
    expect(result.trials.map((t) => t.ms)).toEqual([12, 12, 12]);
    expect(result.best.trial).toBe(BASELINE_TRIAL);
    expect(result.best.ms).toBe(1);
    expect(result.best.schedule.text()).toBe("");
    expect(result.trials.map((t) => t.bestMs)).toEqual([1, 1, 1]);
  });
});
