/**
 * The orchestration of one recorded tuning run, shared by `colt tune`, `colt bench` and
 * the model tuner: the workload, profile and compiler rows, the best schedule already
 * known for the same workload, machine, compiler and threads (reuse), the run record
 * (created, or an old one marked running again to resume it), every measurement and trial
 * recorded as it happens, and the run's end.
 */
import type { Db } from "../db/database.ts";
import {
  bestCandidate,
  createRun,
  ensureCompiler,
  ensureProfile,
  ensureWorkload,
  insertExpansion,
  markRunning,
  setBaseline,
  type RunRow,
} from "../db/records.ts";
import { RecordingEngine } from "../db/recording-engine.ts";
import { programHash } from "../ir/hash.ts";
import type { Program } from "../ir/program.ts";
import type { Compiler } from "../measure/compiler.ts";
import type { MachineProfile } from "../measure/profile.ts";
import type { Runner } from "../measure/runner.ts";
import { Schedule } from "../schedule/schedule.ts";
import { shareOut } from "../schedule/share-out.ts";
import { parseTrace } from "../schedule/text.ts";
import type { ExpansionEvent } from "../search/colt.ts";
import type { TrialRecord } from "../search/trials.ts";
import type { TuneResult } from "../search/tune.ts";
import { RunLifecycle } from "./run-lifecycle.ts";

export interface RunPlan {
  readonly workload: string;
  readonly program: Program;
  readonly profile: MachineProfile;
  readonly compiler: Compiler;
  /** The strategy recorded on the run (the search's, not a bench variant's label). */
  readonly strategy: string;
  readonly seed: number;
  readonly threads: number;
  /** Stored with the run; the reused trace is added to them. */
  readonly settings: object;
  /** What measures; wrapped so that every measurement is recorded. */
  readonly runner: Runner;
  /** Start from the best schedule the database knows (ignored when resuming). */
  readonly reuse: boolean;
  /** An earlier run to continue: its settings and reused trace are kept. */
  readonly resumed?: RunRow;
  /** The bench the run belongs to. */
  readonly bench?: string;
  /** The command that continues the run (given its id) after an interruption. */
  readonly resumeCommand?: (runId: string) => string;
  /** Aborted by SIGINT/SIGTERM. */
  readonly stop?: AbortSignal;
  /** A reused schedule that no longer applies is reported here, then ignored. */
  readonly warn?: (line: string) => void;
}

/** A run record under way: its recording engine, reused schedule and hooks for the search. */
export class TuningRun {
  private constructor(
    private readonly db: Db,
    readonly runId: string,
    readonly engine: RecordingEngine,
    readonly lifecycle: RunLifecycle,
    /** The best known schedules the search starts from, if any. */
    readonly known: readonly Schedule[] | undefined,
    /** What they are, for the run's first line. */
    readonly startingPoints: readonly string[],
  ) {}

  static open(db: Db, plan: RunPlan): TuningRun {
    const { program, resumed } = plan;
    const workloadId = ensureWorkload(db, programHash(program), plan.workload, program.params);
    const profileId = ensureProfile(db, plan.profile);
    const compilerId = ensureCompiler(db, plan.compiler);
    const best = (threads: number) =>
      bestCandidate(db, { workloadId, profileId, compilerId, threads })?.trace;
    // A resumed run starts from what it started from; a new one from the database's best.
    const fresh = !resumed && plan.reuse;
    const reused = fresh ? best(plan.threads) : (resumed?.settings.reused as string | undefined);
    const reusedSchedule =
      reused !== undefined ? recorded(reused, plan, "best schedule") : undefined;
    let sharedSchedule: Schedule | undefined;
    if (resumed?.settings.sharedOut !== undefined)
      sharedSchedule = recorded(
        resumed.settings.sharedOut as string,
        plan,
        "one-thread best schedule, shared out,",
      );
    else if (fresh && plan.threads > 1) {
      // A many-thread tune also starts from the one-thread best, shared out over its threads.
      const oneThread = best(1);
      const schedule = oneThread && recorded(oneThread, plan, "one-thread best schedule");
      sharedSchedule = schedule ? shareOut(schedule, plan.threads) : undefined;
    }
    if (sharedSchedule?.text() === reusedSchedule?.text()) sharedSchedule = undefined;
    const known = [reusedSchedule, sharedSchedule].filter((k): k is Schedule => !!k);
    const startingPoints = [
      ...(reusedSchedule ? ["the best known schedule"] : []),
      ...(sharedSchedule ? [`the one-thread best shared out over ${plan.threads} threads`] : []),
    ];
    const runId =
      resumed?.id ??
      createRun(db, {
        workloadId,
        profileId,
        compilerId,
        strategy: plan.strategy,
        seed: plan.seed,
        threads: plan.threads,
        settings: {
          ...plan.settings,
          ...(reusedSchedule ? { reused } : {}),
          ...(sharedSchedule ? { sharedOut: sharedSchedule.text() } : {}),
        },
        ...(plan.bench !== undefined ? { bench: plan.bench } : {}),
      });
    if (resumed) markRunning(db, runId);
    const engine = new RecordingEngine(db, runId, plan.runner, plan.compiler, plan.stop);
    const lifecycle = new RunLifecycle(db, runId, plan.resumeCommand?.(runId));
    return new TuningRun(
      db,
      runId,
      engine,
      lifecycle,
      known.length > 0 ? known : undefined,
      startingPoints,
    );
  }

  recordBaseline(ms: number, rooflineMs: number): void {
    setBaseline(this.db, this.runId, ms, rooflineMs);
  }

  recordIteration(e: ExpansionEvent): void {
    insertExpansion(this.db, this.runId, e.iteration, e);
  }

  recordTrial(t: TrialRecord): void {
    this.engine.recordTrial(t);
  }

  /** Stores every expansion of the finished search and marks the run done with its summary. */
  finish(result: TuneResult, summary: object): void {
    this.db.transaction(() => {
      for (const e of result.expansions) this.recordIteration(e);
    })();
    this.lifecycle.finish("done", summary);
  }
}

/**
 * A recorded trace applied to the program, or undefined where it no longer applies (the
 * program or the transformations changed since it was recorded): a warning says why.
 */
function recorded(trace: string, plan: RunPlan, what: string): Schedule | undefined {
  try {
    return Schedule.fromTrace(plan.program, parseTrace(trace));
  } catch (e) {
    plan.warn?.(`the database's ${what} no longer applies (${(e as Error).message}); not reused`);
    return undefined;
  }
}
