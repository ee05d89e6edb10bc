/**
 * Trials and budgets, shared by COLT and every baseline so they are compared on equal
 * terms: one measurement is one trial, and every trial is logged in the same format.
 */
import type { Measurement } from "../measure/engine.ts";
import type { Schedule } from "../schedule/schedule.ts";

/** The trial model that names the final round's sharing twin, measured past the budget. */
export const SHARING_TWIN_SOURCE = "sharing twin";

export interface TrialRecord {
  /** 1-based. */
  readonly trial: number;
  readonly strategy: string;
  /** Model that proposed the measured node (COLT, mcts), when there is one. */
  readonly model?: string;
  readonly trace: string;
  readonly status: Measurement["status"];
  readonly verified: boolean;
  readonly ms?: number;
  readonly gflops?: number;
  /** Best verified time after this trial. */
  readonly bestMs?: number;
  readonly predictedMs?: number;
  readonly detail?: string;
  readonly elapsedMs: number;
}

/** Measures schedules; every schedule measured is one trial. */
export interface TrialRunner {
  measure(schedules: readonly Schedule[]): Promise<Measurement[]>;
}

export interface Budget {
  readonly trials: number;
  /** Proposer calls (expansions and course alterations). */
  readonly proposerCalls?: number;
  readonly tokens?: number;
  readonly usd?: number;
  readonly wallMs?: number;
  /** Stop after this many measurement rounds without a better time. */
  readonly patience?: number;
}

/** The trial number of the unscheduled program, measured as the baseline before trial 1. */
export const BASELINE_TRIAL = 0;

export interface BestResult {
  readonly schedule: Schedule;
  readonly ms: number;
  /** One-off weight preparation time, when the schedule prepares weights; not part of `ms`. */
  readonly prepareMs?: number;
  readonly gflops: number;
  /** BASELINE_TRIAL when no trial beat the unscheduled program. */
  readonly trial: number;
}
