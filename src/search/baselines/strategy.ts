/**
 * The common shape of the baseline strategies (random, evolutionary, beam) and the few
 * helpers they share. A strategy decides what to measure; the session measures it,
 * counts trials, keeps the best verified result and trains the cost model.
 */
import { printLoopNest } from "../../ir/print.ts";
import type { Program } from "../../ir/program.ts";
import type { Measurement } from "../../measure/engine.ts";
import { ScheduleError } from "../../schedule/errors.ts";
import { Schedule } from "../../schedule/schedule.ts";
import type { Trace } from "../../schedule/transform.ts";
import type { Random } from "../../util/random.ts";
import type { TuningSession } from "../session.ts";

export interface StrategyRun {
  readonly session: TuningSession;
  /** Every random choice of the strategy draws from this generator. */
  readonly random: Random;
  /** Schedules from the tuning database, already measured: strategies that grow programs start from them too. */
  readonly known?: readonly Schedule[];
}

/** Runs until `run.session.done`, or until there is nothing left to try. */
export type Strategy = (run: StrategyRun) => Promise<void>;

/** The measured time of a verified, successful measurement; undefined otherwise. */
export function verifiedMs(m: Measurement | undefined): number | undefined {
  if (!m || m.status !== "ok" || !m.verified) return undefined;
  return m.timing?.medianMs;
}

/** Replays a trace from the unscheduled program; undefined when some step is refused. */
export function replay(program: Program, trace: Trace): Schedule | undefined {
  try {
    return Schedule.fromTrace(program, trace);
  } catch (e) {
    if (e instanceof ScheduleError) return undefined;
    throw e;
  }
}

/** Applies `steps` to `start` one by one; undefined when some step is refused. */
export function applyAll(start: Schedule, steps: Trace): Schedule | undefined {
  let s = start;
  for (const t of steps) {
    const r = s.tryApply(t);
    if (!r.ok) return undefined;
    s = r.schedule;
  }
  return s;
}

/**
 * The outcome of every lowered loop nest this strategy has measured. Different traces
 * often lower to the same nest (independent steps in another order), and the same nest
 * compiles to the same kernel: measuring it again would waste a trial. The unscheduled
 * program counts as measured, at the session's baseline time.
 */
export class NestMemo {
  private readonly keys = new WeakMap<Schedule, string>();
  /** Verified time, or Infinity for a failure. */
  private readonly outcomes = new Map<string, number>();

  constructor(private readonly session: TuningSession) {
    const start = Schedule.initial(session.options.program);
    this.outcomes.set(this.key(start), session.options.baselineMs);
  }

  key(s: Schedule): string {
    let k = this.keys.get(s);
    if (k === undefined) {
      k = printLoopNest(s.lower());
      this.keys.set(s, k);
    }
    return k;
  }

  /** True when this trace, or another with the same loop nest, was measured. */
  measured(s: Schedule): boolean {
    return this.session.measurementOf(s) !== undefined || this.outcomes.has(this.key(s));
  }

  /** Measured time of the trace or of an equivalent one; Infinity for failures. */
  outcome(s: Schedule): number | undefined {
    const m = this.session.measurementOf(s);
    if (m) return verifiedMs(m) ?? Infinity;
    return this.outcomes.get(this.key(s));
  }

  /** Measures the schedules through the session and records their outcomes. */
  async measure(
    requests: readonly { readonly schedule: Schedule; readonly predictedMs?: number }[],
  ): Promise<(Measurement | undefined)[]> {
    const results = await this.session.measure(requests);
    requests.forEach((r, i) => {
      const m = results[i];
      if (m) this.outcomes.set(this.key(r.schedule), verifiedMs(m) ?? Infinity);
    });
    return results;
  }
}
