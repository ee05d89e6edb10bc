/**
 * Wraps the measurement engine so every measurement is written to the tuning database
 * the moment it completes, and a loop nest already recorded for the run is answered from
 * the database instead of being measured again. That is how `--resume` works: the
 * search is deterministic for a seed, so re-running it replays the killed run's
 * requests; the finished ones come from the database (they still count as trials), the
 * rest are measured.
 */
import { printLoopNest } from "../ir/print.ts";
import type { Measurement } from "../measure/engine.ts";
import { MeasurementAbandonedError } from "../measure/errors.ts";
import type { Runner, SettledTime } from "../measure/runner.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { TrialRecord } from "../search/trials.ts";
import type { Db } from "./database.ts";
import {
  findMeasurement,
  insertMeasurement,
  recordTrial,
  settleCandidate,
  type CompilerInfo,
} from "./records.ts";

export class RecordingEngine implements Runner {
  /** Measurements answered from the database. */
  fromDb = 0;
  /** Measurements made (and recorded) by this process. */
  measured = 0;
  /** Loop-nest key of every trace seen, for the trial records that follow. */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly db: Db,
    readonly runId: string,
    private readonly inner: Pick<Runner, "measure">,
    private readonly compiler: CompilerInfo,
    /** The run is stopping (a signal): see measure. */
    private readonly stop?: AbortSignal,
  ) {}

  /** Settles every measurement before reporting a failure, so none writes after the run ends. */
  async measureAll(schedules: readonly Schedule[]): Promise<Measurement[]> {
    const settled = await Promise.allSettled(schedules.map((s) => this.measure(s)));
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<Measurement>).value);
  }

  async measure(schedule: Schedule): Promise<Measurement> {
    const key = printLoopNest(schedule.lower());
    this.keys.set(schedule.text(), key);
    const known = findMeasurement(this.db, this.runId, key, this.compiler);
    if (known) {
      this.fromDb++;
      return known;
    }
    const m = await this.inner.measure(schedule);
    // A failure that ends after the stop may be the signal's doing (Ctrl-C reaches the
    // compiler and the kernel too): not recorded, measured again when the run resumes.
    if (this.stop?.aborted && !m.verified)
      throw new MeasurementAbandonedError(`${schedule.program.name} candidate`);
    insertMeasurement(this.db, this.runId, key, schedule.text(), m);
    this.measured++;
    return m;
  }

  /** Measured through the engine it wraps, never answered from the database. */
  measureAgain(schedule: Schedule): Promise<Measurement> {
    return this.inner.measure(schedule);
  }

  /** The final round's time (or failure) replaces the candidate's recorded one. */
  settle(schedule: Schedule, outcome: SettledTime): void {
    settleCandidate(this.db, this.runId, printLoopNest(schedule.lower()), outcome);
  }

  /** Called for every trial: adds its number, model and prediction to the record. */
  recordTrial(t: TrialRecord): void {
    const key = this.keys.get(t.trace);
    if (key === undefined)
      throw new Error(`trial ${t.trial} was not measured through the database`);
    recordTrial(this.db, this.runId, key, t);
  }
}
