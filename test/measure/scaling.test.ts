import { describe, expect, it } from "vitest";
import { measureScaling } from "../../src/measure/scaling.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const program = instantiate("matmul", "small", { M: 64, N: 64, K: 32 });
const rowsInParallel = (p = program) =>
  Schedule.fromTrace(p, parseTrace("split C.i 16 -> io ii\nparallel C.io"));

describe("two-thread scaling measured side by side", () => {
  it("alternates the one-thread and the two-thread schedule over rounds, each verified", async () => {
    const s = await measureScaling(Schedule.initial(program), rowsInParallel(), 2, {
      ...freshEvalOptions(),
      seed: 1,
      minMs: 10,
      rounds: 3,
    });
    expect(s.threads).toBe(2);
    expect(s.roundRatios).toHaveLength(3);
    for (const r of s.roundRatios) expect(r).toBeGreaterThan(0);
    const sorted = [...s.roundRatios].sort((a, b) => a - b);
    expect(s.ratio).toBe(sorted[1]);
    expect(s.oneThread.reps).toBeGreaterThanOrEqual(9);
    expect(s.manyThreads.reps).toBeGreaterThanOrEqual(9);
    expect(s.cpus.oneThread).not.toContain("-");
    expect(s.cpus.manyThreads).toContain("-");
  });

  it("refuses schedules of two different shapes, and fewer than two threads", async () => {
    const other = instantiate("matmul", "small", { M: 32, N: 64, K: 32 });
    const o = { ...freshEvalOptions(), seed: 1, minMs: 10, rounds: 1 };
    await expect(
      measureScaling(Schedule.initial(program), rowsInParallel(other), 2, o),
    ).rejects.toThrow(/different programs .*one workload and shape/);
    await expect(measureScaling(Schedule.initial(program), rowsInParallel(), 1, o)).rejects.toThrow(
      /at least 2, got 1/,
    );
  });
});
