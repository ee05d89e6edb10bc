/**
 * The property behind the random-trace tests: any sequence of transformations is either
 * refused with a clear error, or compiles, runs and matches the unscheduled reference.
 */
import fc from "fast-check";
import { expect } from "vitest";
import { verifySchedule, type EvalOptions } from "../../src/measure/evaluate.ts";
import { parseTrace, printTrace } from "../../src/schedule/text.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate, type SizeName } from "../../src/workloads/registry.ts";
import { randomTrace } from "./random-traces.ts";

export interface PropertyCase {
  readonly workload: string;
  readonly size: SizeName;
  readonly shape?: Record<string, number>;
  /** A trace the random steps start from (to exercise moves that need a setup first). */
  readonly prefix?: string;
}

export async function checkRandomTraces(
  cases: readonly PropertyCase[],
  runs: number,
  opts: EvalOptions,
) {
  const programs = cases.map((c) => instantiate(c.workload, c.size, c.shape));
  const starts = cases.map((c, i) => Schedule.fromTrace(programs[i], parseTrace(c.prefix ?? "")));
  let checked = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: programs.length - 1 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 8 }),
      async (which, seed, steps) => {
        const program = programs[which];
        const { schedule, refusals } = randomTrace(starts[which], seed, steps);
        for (const e of refusals) {
          expect(e.stage, e.message).toBeTruthy();
          expect(e.reason.length).toBeGreaterThan(10);
        }
        // The trace text round-trips and replays to the same program.
        const replayed = Schedule.fromTrace(program, parseTrace(printTrace(schedule.trace)));
        expect(printTrace(replayed.trace)).toBe(printTrace(schedule.trace));
        const result = await verifySchedule(schedule, opts);
        expect(
          result.verified,
          `${program.name} seed=${seed}\n${printTrace(schedule.trace)}error=${result.error}`,
        ).toBe(true);
        checked++;
      },
    ),
    { numRuns: runs, seed: 20261126, endOnFailure: true },
  );
  return checked;
}
