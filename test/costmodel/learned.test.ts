import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { extractFeatures, FEATURE_NAMES } from "../../src/costmodel/features.ts";
import { LearnedCostModel, MIN_SAMPLES } from "../../src/costmodel/learned.ts";
import { spearman } from "../../src/costmodel/rank.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE, randomSchedules, sched } from "./support.ts";

// One pool of random legal matmul schedules, shared by the tests below.
const pool = randomSchedules("matmul", 90, 7);
const train = pool.slice(0, 60);
const test = pool.slice(60);

const STRIDED = FEATURE_NAMES.indexOf("fraction of reads strided along the innermost loop");
const VECTOR = FEATURE_NAMES.indexOf("fraction of work in explicit vector loops");

/**
 * A synthetic machine: the analytic estimate times a smooth function of two features, so
 * ranking well requires learning the correction.
 */
function syntheticMs(s: Schedule): number {
  const f = extractFeatures(s, PROFILE);
  return analyticEstimateMs(s, PROFILE) * Math.exp(3 * f[STRIDED] - 2 * f[VECTOR] ** 2);
}

const samples = (list: readonly Schedule[]) =>
  list.map((schedule) => ({ schedule, ms: syntheticMs(schedule) }));

describe("LearnedCostModel", () => {
  it("analyses a program once per trace, whichever Schedule object carries it, and keeps programs apart", () => {
    const model = new LearnedCostModel({ profile: PROFILE, seed: 1 });
    const [a] = pool;
    const again = Schedule.fromTrace(a.program, a.trace);
    expect(again).not.toBe(a);
    expect(model.predictMs(again)).toBe(model.predictMs(a));
    expect(model.analysedCount).toBe(1);
    // The same (empty) trace of another program is another program.
    const other = Schedule.initial(instantiate("softmax", "small"));
    const own = Schedule.initial(a.program);
    expect(model.predictMs(other)).not.toBe(model.predictMs(own));
    expect(model.analysedCount).toBe(3);
  });

  it("predicts the analytic estimate, scaled by the mean measured correction, until it has enough samples", () => {
    const model = new LearnedCostModel({ profile: PROFILE, seed: 1 });
    expect(model.sampleCount).toBe(0);
    for (const s of test.slice(0, 5))
      expect(model.predictMs(s)).toBe(analyticEstimateMs(s, PROFILE));
    // A machine three times slower than the analytic model says, on every schedule.
    const slower = (list: readonly Schedule[]) =>
      list.map((schedule) => ({ schedule, ms: 3 * analyticEstimateMs(schedule, PROFILE) }));
    model.observe(slower(train.slice(0, MIN_SAMPLES - 1)));
    expect(model.sampleCount).toBe(MIN_SAMPLES - 1);
    for (const s of test.slice(0, 5))
      expect(model.predictMs(s) / analyticEstimateMs(s, PROFILE)).toBeCloseTo(3, 9);
    model.observe(samples(train.slice(MIN_SAMPLES - 1, MIN_SAMPLES)));
    const ratios = test.map((s) => model.predictMs(s) / analyticEstimateMs(s, PROFILE));
    // With trees the correction depends on the schedule.
    expect(new Set(ratios.map((r) => r.toFixed(6))).size).toBeGreaterThan(1);
  });

  it("learns a synthetic correction and ranks held-out schedules (Spearman > 0.8)", () => {
    const model = new LearnedCostModel({ profile: PROFILE, seed: 3 });
    // Online, in batches, as trials arrive.
    for (let i = 0; i < train.length; i += 10) model.observe(samples(train.slice(i, i + 10)));
    expect(model.sampleCount).toBe(train.length);
    const truth = test.map(syntheticMs);
    const learned = spearman(
      test.map((s) => model.predictMs(s)),
      truth,
    );
    const analytic = spearman(
      test.map((s) => analyticEstimateMs(s, PROFILE)),
      truth,
    );
    expect(learned).toBeGreaterThan(0.8);
    expect(learned).toBeGreaterThan(analytic);
  });

  it("is deterministic for a seed and sample order, and its predictions are finite and > 0", () => {
    const a = new LearnedCostModel({ profile: PROFILE, seed: 5 });
    const b = new LearnedCostModel({ profile: PROFILE, seed: 5 });
    a.observe(samples(train.slice(0, 30)));
    b.observe(samples(train.slice(0, 30)));
    const pa = test.map((s) => a.predictMs(s));
    expect(test.map((s) => b.predictMs(s))).toEqual(pa);
    for (const p of pa) expect(Number.isFinite(p) && p > 0).toBe(true);
  });

  it("ignores samples without a usable time", () => {
    const model = new LearnedCostModel({ profile: PROFILE, seed: 1 });
    const s = train[0];
    model.observe([
      { schedule: s, ms: Number.NaN },
      { schedule: s, ms: 0 },
      { schedule: s, ms: -1 },
      { schedule: s, ms: Number.POSITIVE_INFINITY },
    ]);
    expect(model.sampleCount).toBe(0);
  });

  it("falls back towards the analytic estimate for an unseen workload", () => {
    const model = new LearnedCostModel({ profile: PROFILE, seed: 1 });
    // A machine 10x slower than the analytic model on matmul, in a way no feature explains.
    model.observe(
      train.map((schedule) => ({ schedule, ms: 10 * analyticEstimateMs(schedule, PROFILE) })),
    );
    for (const s of [
      sched("softmax", ""),
      sched("softmax", "split row_max.i 8 -> io ii"),
      sched("conv2d", ""),
    ]) {
      const ratio = model.predictMs(s) / analyticEstimateMs(s, PROFILE);
      expect(Number.isFinite(ratio)).toBe(true);
      // The learned global correction (x10) carries over, bounded.
      expect(ratio).toBeGreaterThan(2);
      expect(ratio).toBeLessThan(50);
    }
  });
});
