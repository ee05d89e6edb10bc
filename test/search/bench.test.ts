import { describe, expect, it } from "vitest";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { offlineBucket } from "../../src/models/offline/proposers.ts";
import {
  BenchError,
  EQUAL_CALLS_MCTS,
  runBench,
  type BenchOptions,
  type BenchStrategy,
} from "../../src/search/bench.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const bench = (strategies: readonly BenchStrategy[], run?: BenchOptions["run"]) => {
  const engine = new MeasurementEngine({ ...freshEvalOptions(), minMs: 2, runTimeoutMs: 10_000 });
  return runBench({
    programs: [{ workload: "matmul", program: instantiate("matmul", "small") }],
    strategies,
    seeds: [1],
    trials: 12,
    profile: PROFILE,
    threads: 1,
    proposers: (seed) => offlineBucket(seed),
    run: run ?? (() => ({ engine })),
  });
};

const callsOf = (
  run: { result: { models: readonly { info: { name: string }; calls: number }[] } },
  name: string,
) => run.result.models.find((m) => m.info.name === name)?.calls ?? 0;

describe("search bench (real compiler)", () => {
  it("holds mcts-equal-calls to the largest model's calls in COLT's run of the same seed", async () => {
    const [colt, mcts, equal] = await bench(["colt", "mcts", EQUAL_CALLS_MCTS]);
    const coltLargest = callsOf(colt, "offline-lookahead");
    expect(equal.strategy).toBe(EQUAL_CALLS_MCTS);
    expect(equal.result.strategy).toBe("mcts");
    expect(coltLargest).toBeGreaterThan(0);
    expect(equal.proposerCalls).toBe(coltLargest);
    expect(mcts.proposerCalls).toBeUndefined();
    expect(colt.proposerCalls).toBeUndefined();
    expect(callsOf(equal, "offline-lookahead")).toBeGreaterThan(0);
    expect(callsOf(equal, "offline-lookahead")).toBeLessThanOrEqual(coltLargest);
  });

  it("refuses mcts-equal-calls without a colt run before it, before running anything", async () => {
    await expect(bench([EQUAL_CALLS_MCTS, "colt"])).rejects.toThrow(BenchError);
    await expect(bench([EQUAL_CALLS_MCTS])).rejects.toThrow(/list colt before it/);
    let runs = 0;
    const counting = bench(["random", EQUAL_CALLS_MCTS], () => {
      runs++;
      throw new Error("no run expected");
    });
    await expect(counting).rejects.toThrow(/list colt before it/);
    expect(runs).toBe(0);
  });
});
