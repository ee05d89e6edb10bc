/**
 * Deterministic stand-ins for measurement and cost model, for unit tests of search
 * logic only (end-to-end tests use the real compiler and engine).
 */
import type { CostModel, CostSample } from "../../src/costmodel/cost-model.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import type { Schedule } from "../../src/schedule/schedule.ts";
import type { TrialRunner } from "../../src/search/trials.ts";

/** Time as a pure function of the trace text. */
export type Objective = (trace: string) => number;

export class ObjectiveCostModel implements CostModel {
  sampleCount = 0;
  constructor(private readonly objective: Objective) {}
  predictMs(s: Schedule): number {
    return this.objective(s.text());
  }
  observe(samples: readonly CostSample[]): void {
    this.sampleCount += samples.length;
  }
}

export class ObjectiveRunner implements TrialRunner {
  readonly measured: string[] = [];
  constructor(
    private readonly objective: Objective,
    private readonly fails: (trace: string) => boolean = () => false,
  ) {}
  async measure(schedules: readonly Schedule[]): Promise<Measurement[]> {
    return schedules.map((s) => {
      const trace = s.text();
      this.measured.push(trace);
      const base = {
        buildMs: 1,
        buildCached: false,
        runMs: 1,
        compiler: { command: "fake", version: "fake", flags: [] },
      };
      if (this.fails(trace))
        return { ...base, status: "wrong-result", verified: false, detail: "scripted failure" };
      return okMeasurement(this.objective(trace));
    });
  }
}

/** A verified measurement of `ms` milliseconds. */
export function okMeasurement(ms: number): Measurement {
  return {
    buildMs: 1,
    buildCached: false,
    runMs: 1,
    compiler: { command: "fake", version: "fake", flags: [] },
    status: "ok",
    verified: true,
    error: 0,
    gflops: 1 / ms,
    timing: { medianMs: ms, minMs: ms, spread: 0, reps: 3 },
  };
}
