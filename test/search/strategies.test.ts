/** The strategy registry: every strategy runs through `tune` by name, with fakes for measuring. */
import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import type { Runner } from "../../src/measure/runner.ts";
import { offlineBucket } from "../../src/models/offline/proposers.ts";
import type { Schedule } from "../../src/schedule/schedule.ts";
import {
  BASELINE_STRATEGIES,
  isStrategy,
  STRATEGIES,
  STRATEGY_REGISTRY,
} from "../../src/search/strategies.ts";
import { tune } from "../../src/search/tune.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { ObjectiveCostModel } from "../support/fakes.ts";

/** Measures a schedule as the analytic estimate: deterministic, no compiler. */
const estimate = (s: Schedule) => analyticEstimateMs(s, PROFILE);
const engine: Runner = {
  measure: async (s) => measured(estimate(s)),
  measureAll: async (ss) => ss.map((s) => measured(estimate(s))),
};
function measured(ms: number): Measurement {
  return {
    status: "ok",
    verified: true,
    error: 0,
    gflops: 1 / ms,
    timing: { medianMs: ms, minMs: ms, spread: 0, reps: 3 },
    buildMs: 1,
    buildCached: false,
    runMs: 1,
    compiler: { command: "fake", version: "fake", flags: [] },
  };
}

describe("the strategy registry", () => {
  it("lists colt first (the default), mcts and the baselines, each with a description", () => {
    expect(STRATEGIES).toEqual(["colt", "mcts", "random", "evolutionary", "beam"]);
    expect(BASELINE_STRATEGIES).toEqual(["random", "evolutionary", "beam"]);
    for (const name of STRATEGIES) expect(STRATEGY_REGISTRY[name].description).not.toBe("");
    expect(isStrategy("mcts")).toBe(true);
    expect(isStrategy("toString")).toBe(false);
  });

  it.each(STRATEGIES)(
    "runs %s through tune; only the tree searches report proposers",
    async (name) => {
      const program = instantiate("matmul", "small");
      const r = await tune({
        program,
        strategy: name,
        seed: 3,
        budget: { trials: 6 },
        engine,
        profile: PROFILE,
        threads: 1,
        proposers: offlineBucket(3),
        costModel: new ObjectiveCostModel(() => 1),
      });
      expect(r.trials).toHaveLength(6);
      const usesProposers = STRATEGY_REGISTRY[name].usesProposers;
      expect(r.proposerCost !== null, name).toBe(usesProposers);
      expect(r.models.map((m) => m.info.name)).toEqual(
        !usesProposers
          ? []
          : name === "mcts"
            ? ["offline-lookahead"]
            : offlineBucket(3).map((p) => p.info.name),
      );
    },
  );
});
