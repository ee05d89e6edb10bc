/**
 * The schedule `colt compare` measures: a file, a run's best, else the best the tuning
 * database knows for the workload, shape and thread count, else the unscheduled program.
 */
import type { Db } from "../db/database.ts";
import { bestCandidate, bestOfRun, findWorkload, getRun } from "../db/records.ts";
import { programHash } from "../ir/hash.ts";
import type { Program } from "../ir/program.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import { programOfRun } from "./commands/export.ts";
import { UsageError } from "./errors.ts";
import { loadSchedule } from "./options.ts";

export interface ChosenSchedule {
  readonly schedule: Schedule;
  /** Where it came from, for the output: "file x.sched", "run R trial 12", ... */
  readonly source: string;
  readonly runId: string | null;
  /** The run's thread count, when the schedule comes from --run. */
  readonly runThreads: number | null;
}

export function scheduleFromFile(program: Program, file: string): ChosenSchedule {
  return {
    schedule: loadSchedule(program, file),
    source: `file ${file}`,
    runId: null,
    runThreads: null,
  };
}

/** The best verified candidate of a run of `workload` (the run decides the shape). */
export function scheduleOfRun(db: Db, workload: string, runId: string): ChosenSchedule {
  const run = getRun(db, runId);
  if (run.workload !== workload) {
    throw new UsageError(`run ${runId} tuned ${run.workload}, not ${workload}`);
  }
  const best = bestOfRun(db, run.id);
  if (!best) throw new UsageError(`run ${run.id} has no verified candidate to compare`);
  return {
    schedule: Schedule.fromTrace(programOfRun(run), parseTrace(best.trace)),
    source: `run ${run.id} trial ${best.trial ?? "-"} (its best)`,
    runId: run.id,
    runThreads: run.threads,
  };
}

export function bestKnownOrInitial(
  db: Db,
  program: Program,
  threads: number,
  target: string,
): ChosenSchedule {
  const workloadId = findWorkload(db, programHash(program));
  const best =
    workloadId === undefined ? undefined : bestCandidate(db, { workloadId, threads, target });
  if (!best) {
    return {
      schedule: Schedule.initial(program),
      source: "unscheduled program (no tuned schedule in the database)",
      runId: null,
      runThreads: null,
    };
  }
  return {
    schedule: Schedule.fromTrace(program, parseTrace(best.trace)),
    source: `best known: run ${best.runId} trial ${best.trial ?? "-"}`,
    runId: best.runId,
    runThreads: null,
  };
}
