import { describe, expect, it } from "vitest";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { offlineBucket } from "../../src/models/offline/proposers.ts";
import { benchTable, runBench, type BenchVariant } from "../../src/search/bench.ts";
import {
  ABLATIONS,
  ablationVariants,
  FIDELITY_STRATEGIES,
  FidelityError,
  fidelityTable,
  midSizeProposer,
} from "../../src/cli/fidelity.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const variant = (name: string): BenchVariant =>
  [...FIDELITY_STRATEGIES, ...Object.values(ABLATIONS).flat()].find((v) => v.name === name)!;

describe("fidelity bench: strategies and ablations", () => {
  it("lists the five strategies and the six COLT ablations, each changing one setting", () => {
    expect(FIDELITY_STRATEGIES.map((v) => v.name)).toEqual([
      "colt",
      "mcts",
      "mcts-mid",
      "evolutionary",
      "random",
    ]);
    expect(ablationVariants("lambda,course-alteration,graded-bucket").map((v) => v.name)).toEqual([
      "colt-lambda-0",
      "colt-lambda-0.2",
      "colt-k1",
      "colt-k2",
      "colt-k-off",
      "colt-8",
    ]);
    expect(variant("colt-lambda-0.2").colt).toEqual({ policy: { lambda: 0.2 } });
    // The default bucket without its random proposer: the expert and the lookahead.
    const noRandom = ablationVariants("no-random");
    expect(noRandom.map((v) => v.name)).toEqual(["colt-no-random"]);
    expect(noRandom[0].proposers!(1).map((p) => p.info.name)).toEqual([
      "offline-expert",
      "offline-lookahead",
    ]);
    expect(variant("colt-k-off").colt).toEqual({ courseAlterationK: 0 });
    expect(ablationVariants("levers").map((v) => [v.name, v.colt])).toEqual([
      ["colt-measured-escalation", { escalation: "measured" }],
      ["colt-shared-rounds", { smallerShare: 0.5 }],
      ["colt-frontier-next", { nextModelRule: "frontier" }],
    ]);
    expect(ablationVariants("round-length").map((v) => [v.name, v.colt])).toEqual([
      ["colt-rounds-8-calls", { expansionsPerRound: 8 }],
      ["colt-rounds-by-cost", { roundCost: 8, expansionsPerRound: 32 }],
    ]);
    expect(ablationVariants("colt-frontier-next,colt-k1").map((v) => v.name)).toEqual([
      "colt-frontier-next",
      "colt-k1",
    ]);
    expect(ablationVariants("none")).toEqual([]);
    expect(() => ablationVariants("lambda,temperature")).toThrow(FidelityError);
    expect(() => ablationVariants("temperature")).toThrow(/ablations: lambda, course-alteration/);
    expect(midSizeProposer(offlineBucket(1)).info.name).toBe("offline-expert");
  });

  it("runs each variant with its own bucket and COLT options (real compiler)", async () => {
    const engine = new MeasurementEngine({ ...freshEvalOptions(), minMs: 2, runTimeoutMs: 10_000 });
    const runs = await runBench({
      programs: [{ workload: "matmul", program: instantiate("matmul", "small") }],
      strategies: ["mcts-mid", "colt-8", "colt-k-off"].map(variant),
      seeds: [1],
      trials: 4,
      profile: PROFILE,
      threads: 1,
      proposers: (seed) => offlineBucket(seed),
      run: () => ({ engine }),
      remeasure: { engine, rounds: 2 },
    });
    const [mid, eight, kOff] = runs;
    // Every best re-measured in the rounds; its fastest repetition is never above its median.
    for (const r of runs) {
      expect(r.remeasured!.bestMinMs).toBeGreaterThan(0);
      expect(r.remeasured!.bestMinMs).toBeLessThanOrEqual(r.remeasured!.bestMs);
    }
    expect(runs.map((r) => r.strategy)).toEqual(["mcts-mid", "colt-8", "colt-k-off"]);
    expect(mid.result.strategy).toBe("mcts");
    expect(mid.result.models.map((m) => m.info.name)).toEqual(["offline-expert"]);
    // Alone, the expert is its run's largest model: each call costs 1.
    expect(mid.result.proposerCost).toBe(mid.result.models[0].calls);
    expect(eight.result.models).toHaveLength(8);
    expect(eight.result.models.reduce((n, m) => n + m.calls, 0)).toBeGreaterThan(0);
    expect(kOff.result.models.every((m) => m.courseAlterations === 0)).toBe(true);
    const rows = benchTable(runs, PROFILE.peakFlopsPerCore);
    expect(rows[0].bestMinMs).toBe(runs[0].remeasured!.bestMinMs);
    const table = fidelityTable(rows);
    const lines = table.split("\n");
    expect(lines[0]).toBe(
      "| workload | strategy | best (median) | IQR | best (min) | speedup | trials to 90% | proposer cost | largest-model share | proposer calls per model | wall |",
    );
    expect(lines).toHaveLength(2 + runs.length);
    expect(lines[2]).toMatch(/^\| matmul \| mcts-mid \| .* \| offline-expert \d+ \| \d+ s \|$/);
  });
});
