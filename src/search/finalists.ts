/**
 * The final round of a tune. A run's best is the lowest of many noisy medians, so on a
 * machine whose speed drifts over minutes (a shared virtual machine) it is often a lucky
 * measurement of an ordinary program. The fastest few distinct verified trials are measured
 * again, taking turns, and each one's time becomes the median over all its measurements;
 * the run's best is then chosen on those times. The schedules the run started from (the
 * database's) join them whatever their first time, and on several threads so does the best
 * trial's sharing twin (sharing-twin.ts), measured first as a trial past the budget.
 */
import type { Measurement, MeasurementStatus } from "../measure/engine.ts";
import { median } from "../measure/stats.ts";
import type { Program } from "../ir/program.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import type { TrialRecord } from "./trials.ts";

/** What `colt tune` does unless told otherwise: 4 finalists, each measured twice more. */
export const DEFAULT_FINALISTS = 4;
export const FINAL_ROUNDS = 2;

export interface FinalRoundOptions {
  readonly program: Program;
  readonly trials: readonly TrialRecord[];
  /** How many of the fastest verified trials are measured again (under 2: no round). */
  readonly count: number;
  /**
   * Trials measured again beside them whatever their time, if verified (the schedules the
   * run started from, a sharing twin).
   */
  readonly include?: readonly number[];
  /** Times each finalist is measured again. */
  readonly rounds: number;
  /** Measures a schedule anew, past any record of its earlier measurement. */
  readonly measureAgain: (schedule: Schedule) => Promise<Measurement>;
}

export interface Finalist {
  readonly trial: number;
  readonly schedule: Schedule;
  /** The median time the trial measured during the search. */
  readonly inRunMs: number;
  /** Each later measurement's median, in the order measured; a failed one is left out. */
  readonly againMs: readonly number[];
  /** The median over the trial's measurements; Infinity when one failed. */
  readonly ms: number;
  /** Why a later measurement failed (a kernel that verified once and not again is not trusted). */
  readonly failure?: FinalFailure;
}

/** A later measurement that failed, as the engine reported it. */
export interface FinalFailure {
  readonly status: MeasurementStatus;
  readonly detail?: string;
}

export function describeFailure(f: FinalFailure): string {
  return f.detail ? `${f.status}: ${f.detail}` : f.status;
}

export async function finalRound(o: FinalRoundOptions): Promise<Finalist[]> {
  const verified = o.trials
    .filter((t): t is TrialRecord & { ms: number } => t.verified && t.ms !== undefined)
    .sort((a, b) => a.ms - b.ms || a.trial - b.trial);
  const fastest = verified.slice(0, o.count);
  const included = verified.filter((t) => o.include?.includes(t.trial) && !fastest.includes(t));
  if (fastest.length < 2 || o.rounds < 1) return [];
  fastest.push(...included);
  const entries = fastest.map((t) => ({
    trial: t.trial,
    schedule: Schedule.fromTrace(o.program, parseTrace(t.trace)),
    inRunMs: t.ms,
    againMs: [] as number[],
    failure: undefined as FinalFailure | undefined,
  }));
  // In turns (every finalist once, then again): a slow minute falls on all of them.
  for (let round = 0; round < o.rounds; round++) {
    for (const e of entries) {
      const m = await o.measureAgain(e.schedule);
      if (m.verified && m.timing) e.againMs.push(m.timing.medianMs);
      else e.failure ??= { status: m.status, ...(m.detail ? { detail: m.detail } : {}) };
    }
  }
  return entries.map(({ failure, ...e }) =>
    failure === undefined
      ? { ...e, ms: median([e.inRunMs, ...e.againMs]) }
      : { ...e, ms: Infinity, failure },
  );
}
