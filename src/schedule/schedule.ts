/**
 * A schedule: a program plus its trace. Every step is validated by structural checks
 * and by lowering, so a Schedule value is always a legal, lowerable program.
 */
import type { LoweredProgram } from "../ir/loop-nest.ts";
import type { Program } from "../ir/program.ts";
import { applyStructural } from "./apply.ts";
import { ScheduleError } from "./errors.ts";
import { lower } from "./lower.ts";
import { initialState, type ScheduleState } from "./state.ts";
import { printTrace } from "./text.ts";
import type { Trace, Transform } from "./transform.ts";

export class Schedule {
  private loweredCache?: LoweredProgram;

  private constructor(
    /** The unscheduled program the trace applies to. */
    readonly program: Program,
    readonly trace: Trace,
    readonly state: ScheduleState,
    lowered?: LoweredProgram,
  ) {
    this.loweredCache = lowered;
  }

  static initial(program: Program): Schedule {
    return new Schedule(program, [], initialState(program));
  }

  /** Replays a trace; a refused step throws a ScheduleError that names the step. */
  static fromTrace(program: Program, trace: Trace): Schedule {
    let s = Schedule.initial(program);
    trace.forEach((t, i) => {
      try {
        s = s.apply(t);
      } catch (e) {
        if (e instanceof ScheduleError) throw e.atStep(i + 1);
        throw e;
      }
    });
    return s;
  }

  apply(t: Transform): Schedule {
    const state = applyStructural(this.state, t);
    return new Schedule(this.program, [...this.trace, t], state, lower(state));
  }

  /** Like apply, but returns the refusal instead of throwing it. */
  tryApply(t: Transform): { ok: true; schedule: Schedule } | { ok: false; error: ScheduleError } {
    try {
      return { ok: true, schedule: this.apply(t) };
    } catch (e) {
      if (e instanceof ScheduleError) return { ok: false, error: e };
      throw e;
    }
  }

  lower(): LoweredProgram {
    this.loweredCache ??= lower(this.state);
    return this.loweredCache;
  }

  text(): string {
    return printTrace(this.trace);
  }
}
