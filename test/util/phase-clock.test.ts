import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { PhaseClock } from "../../src/util/phase-clock.ts";

/** Runs `work` and returns how long it took, by the test's own watch. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

describe("phase clock", () => {
  it("gives overlapping time to one phase only, so the parts add up to the total", async () => {
    const clock = new PhaseClock();
    let measuring = 0;
    let building = 0;
    const outside = await timed(() => sleep(5));
    // A build in parallel with a run: the run's time is measuring, the rest of the build building.
    await Promise.all([
      clock.time("building", async () => {
        building = await timed(() => sleep(40));
      }),
      clock.time("measuring", async () => {
        measuring = await timed(() => sleep(20));
      }),
    ]);
    const s = clock.split();
    expect(s.measuringMs).toBeGreaterThanOrEqual(measuring);
    expect(s.buildingMs).toBeLessThanOrEqual(s.totalMs - s.measuringMs);
    expect(s.buildingMs + s.measuringMs).toBeGreaterThanOrEqual(building);
    expect(s.otherMs).toBeGreaterThanOrEqual(outside);
    expect(s.proposingMs).toBe(0);
    expect(s.measuringMs + s.buildingMs + s.proposingMs + s.otherMs).toBe(s.totalMs);
  });

  it("splits only the time since an earlier split", async () => {
    const clock = new PhaseClock();
    await clock.time("proposing", () => sleep(10));
    const before = clock.split();
    await sleep(5);
    const after = clock.since(before);
    expect(after.proposingMs).toBe(0);
    expect(after.otherMs).toBeGreaterThan(0);
    expect(after.totalMs).toBe(after.otherMs);
  });

  it("leaves a phase when its work throws", async () => {
    const clock = new PhaseClock();
    await expect(
      clock.time("proposing", () => Promise.reject(new Error("model down"))),
    ).rejects.toThrow("model down");
    const before = clock.split();
    await sleep(5);
    expect(clock.since(before).proposingMs).toBe(0);
  });
});
