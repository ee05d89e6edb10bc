/**
 * A tuning session: the budget, the trial log, the best result and the cost model,
 * shared by every strategy. Strategies decide what to measure; the session measures it,
 * counts trials, keeps the best verified result and trains the cost model.
 */
import type { CostModel } from "../costmodel/cost-model.ts";
import type { Measurement } from "../measure/engine.ts";
import type { Program } from "../ir/program.ts";
import { printLoopNest } from "../ir/print.ts";
import type { MoveOptions } from "../schedule/enumerate.ts";
import { RecentLegalMoves } from "./recent-legal-moves.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { resolveTarget } from "../target/detect.ts";
import type { Target } from "../target/target.ts";
import { PhaseClock } from "../util/phase-clock.ts";
import type { BestResult, Budget, TrialRecord, TrialRunner } from "./trials.ts";

export interface SessionOptions {
  readonly program: Program;
  readonly strategy: string;
  readonly runner: TrialRunner;
  readonly costModel: CostModel;
  readonly budget: Budget;
  /** Measured time of the unscheduled program. */
  readonly baselineMs: number;
  /** Lower bound on the time (roofline); scores are normalised between baseline and this. */
  readonly rooflineMs: number;
  /** Cores each candidate runs on. */
  readonly threads?: number;
  /** What candidates are built for: its vector widths are the ones offered. */
  readonly target?: Target;
  /**
   * The unscheduled program, measured and verified (trial BASELINE_TRIAL): the best a run
   * starts from, so a run's best is never a candidate slower than the program as written.
   */
  readonly unscheduled?: BestResult;
  readonly onTrial?: (t: TrialRecord) => void;
  /** Where the run's wall time is split; proposer calls are counted here. */
  readonly clock?: PhaseClock;
}

export interface MeasureRequest {
  readonly schedule: Schedule;
  readonly model?: string;
  readonly predictedMs?: number;
}

export class TuningSession {
  readonly trials: TrialRecord[] = [];
  best?: BestResult;
  private readonly start = performance.now();
  /** Measurements by lowered loop nest: traces that differ only in the order of independent steps are one program. */
  private readonly measured = new Map<string, Measurement>();
  private readonly keys = new WeakMap<Schedule, string>();
  /** predictMs results by trace, valid until the next measurement (which also retrains the model). */
  private readonly predictions = new Map<string, number>();
  private roundsWithoutImprovement = 0;
  readonly clock: PhaseClock;
  /** Legal next moves of the nodes expanded last: every expansion of a node offers the same list. */
  readonly recentLegalMoves = new RecentLegalMoves();

  constructor(readonly options: SessionOptions) {
    this.clock = options.clock ?? new PhaseClock();
    this.best = options.unscheduled;
  }

  /** What candidates are built for; this machine's when the session does not say. */
  get target(): Target {
    return this.options.target ?? resolveTarget();
  }

  /** How legal moves are enumerated for this session's candidates. */
  moveOptions(): MoveOptions {
    return { threads: this.options.threads ?? 1, target: this.target };
  }

  get trialsLeft(): number {
    return Math.max(0, this.options.budget.trials - this.trials.length);
  }

  elapsedMs(): number {
    return performance.now() - this.start;
  }

  /** True once the trial budget, the wall-time budget or the patience is exhausted. */
  get done(): boolean {
    const b = this.options.budget;
    if (this.trialsLeft === 0) return true;
    if (b.wallMs !== undefined && this.elapsedMs() >= b.wallMs) return true;
    return b.patience !== undefined && this.roundsWithoutImprovement >= b.patience;
  }

  private keyOf(schedule: Schedule): string {
    let key = this.keys.get(schedule);
    if (key === undefined) {
      key = printLoopNest(schedule.lower());
      this.keys.set(schedule, key);
    }
    return key;
  }

  /** The measurement of this program (same loop nest) made earlier in this session, if any. */
  measurementOf(schedule: Schedule): Measurement | undefined {
    return this.measured.get(this.keyOf(schedule));
  }

  /**
   * Measures as many of the requests as the budget allows (in order), one trial each;
   * traces measured before are answered from memory without a trial. Returns one entry
   * per request: undefined for requests the budget cut off.
   */
  async measure(requests: readonly MeasureRequest[]): Promise<(Measurement | undefined)[]> {
    return this.measureUpTo(requests, this.trialsLeft);
  }

  /**
   * Measures the requests as trials past the trial budget: the final round's sharing twin
   * (sharing-twin.ts), which the search's budget did not reach.
   */
  async measureBeyondBudget(
    requests: readonly MeasureRequest[],
  ): Promise<(Measurement | undefined)[]> {
    return this.measureUpTo(requests, requests.length);
  }

  private async measureUpTo(
    requests: readonly MeasureRequest[],
    limit: number,
  ): Promise<(Measurement | undefined)[]> {
    const fresh: MeasureRequest[] = [];
    const seen = new Set<string>();
    for (const r of requests) {
      const key = this.keyOf(r.schedule);
      if (this.measured.has(key) || seen.has(key)) continue;
      if (fresh.length >= limit) break;
      seen.add(key);
      fresh.push(r);
    }
    const bestBefore = this.best?.ms;
    if (fresh.length > 0) {
      const results = await this.options.runner.measure(fresh.map((r) => r.schedule));
      const samples = [];
      for (let i = 0; i < fresh.length; i++) {
        const m = results[i];
        const req = fresh[i];
        this.measured.set(this.keyOf(req.schedule), m);
        const ms = m.verified ? m.timing?.medianMs : undefined;
        if (ms !== undefined && (!this.best || ms < this.best.ms)) {
          this.best = {
            schedule: req.schedule,
            ms,
            ...(m.prepareMs !== undefined ? { prepareMs: m.prepareMs } : {}),
            gflops: m.gflops ?? 0,
            trial: this.trials.length + 1,
          };
        }
        if (ms !== undefined) samples.push({ schedule: req.schedule, ms });
        const record: TrialRecord = {
          trial: this.trials.length + 1,
          strategy: this.options.strategy,
          ...(req.model ? { model: req.model } : {}),
          trace: req.schedule.text(),
          status: m.status,
          verified: m.verified,
          ...(ms !== undefined ? { ms, gflops: m.gflops } : {}),
          ...(this.best ? { bestMs: this.best.ms } : {}),
          ...(req.predictedMs !== undefined ? { predictedMs: req.predictedMs } : {}),
          ...(m.detail ? { detail: m.detail } : {}),
          elapsedMs: this.elapsedMs(),
        };
        this.trials.push(record);
        this.options.onTrial?.(record);
      }
      this.options.costModel.observe(samples);
      this.predictions.clear();
      const improved =
        this.best !== undefined && (bestBefore === undefined || this.best.ms < bestBefore);
      this.roundsWithoutImprovement = improved ? 0 : this.roundsWithoutImprovement + 1;
    }
    return requests.map((r) => this.measured.get(this.keyOf(r.schedule)));
  }

  /**
   * Measured time when measured (a failed program counts as ten times the baseline),
   * else the cost model's prediction; both cached by trace until the next measurement.
   */
  predictMs(schedule: Schedule): number {
    const key = schedule.text();
    let ms = this.predictions.get(key);
    if (ms === undefined) {
      const m = this.measurementOf(schedule);
      if (m) ms = m.verified && m.timing ? m.timing.medianMs : this.options.baselineMs * 10;
      else ms = this.options.costModel.predictMs(schedule);
      this.predictions.set(key, ms);
    }
    return ms;
  }

  /**
   * Normalised score in [0, 1]: 0 at the unscheduled program's time (or slower),
   * 1 at the roofline bound, logarithmic in between.
   */
  score(ms: number): number {
    const { baselineMs, rooflineMs } = this.options;
    const span = Math.log(baselineMs / Math.min(rooflineMs, baselineMs * 0.999));
    return Math.min(1, Math.max(0, Math.log(baselineMs / ms) / span));
  }
}
