/** The runs recorded in the tuning database, one line each, for `colt runs`. */
import type { Db } from "./database.ts";
import { SHARING_TWIN_SOURCE } from "../search/trials.ts";
import { RUN_BEST_CANDIDATES } from "./records.ts";
import type { RunStatus } from "./schema.ts";

export interface RunListing {
  readonly id: string;
  readonly workload: string;
  readonly shape: Readonly<Record<string, number>>;
  readonly strategy: string;
  readonly seed: number;
  readonly threads: number;
  readonly status: RunStatus;
  /** Trials recorded so far within the budget. */
  readonly trials: number;
  /** Trials measured past the budget by the final round (the sharing twin). */
  readonly extraTrials: number;
  /** The trial budget the run was started with. */
  readonly trialBudget: number | null;
  readonly baselineMs: number | null;
  /** Fastest verified time: a trial or the unscheduled program. */
  readonly bestMs: number | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

interface RawListing {
  id: string;
  name: string;
  shape: string;
  strategy: string;
  seed: number;
  threads: number;
  status: RunStatus;
  settings: string;
  trials: number;
  extra_trials: number;
  baseline_ms: number | null;
  best_ms: number | null;
  started_at: string;
  finished_at: string | null;
}

/** Every run (of one workload, when named), oldest first. */
export function listRuns(db: Db, workload?: string): RunListing[] {
  const rows = db
    .prepare(
      `SELECT runs.id, workloads.name, workloads.shape, runs.strategy, runs.seed, runs.threads,
              runs.status, runs.settings, runs.baseline_ms, runs.started_at, runs.finished_at,
              (SELECT COUNT(*) FROM candidates WHERE run_id = runs.id AND trial IS NOT NULL
                 AND model IS NOT ?) AS trials,
              (SELECT COUNT(*) FROM candidates WHERE run_id = runs.id AND trial IS NOT NULL
                 AND model IS ?) AS extra_trials,
              (SELECT MIN(ms) FROM candidates WHERE run_id = runs.id AND ${RUN_BEST_CANDIDATES}) AS best_ms
       FROM runs JOIN workloads ON workloads.id = runs.workload_id
       ${workload !== undefined ? "WHERE workloads.name = ?" : ""}
       ORDER BY runs.started_at, runs.rowid`,
    )
    .all(
      SHARING_TWIN_SOURCE,
      SHARING_TWIN_SOURCE,
      ...(workload !== undefined ? [workload] : []),
    ) as RawListing[];
  return rows.map((r) => {
    const budget = (JSON.parse(r.settings) as { trials?: unknown }).trials;
    return {
      id: r.id,
      workload: r.name,
      shape: JSON.parse(r.shape) as Record<string, number>,
      strategy: r.strategy,
      seed: r.seed,
      threads: r.threads,
      status: r.status,
      trials: r.trials,
      extraTrials: r.extra_trials,
      trialBudget: typeof budget === "number" ? budget : null,
      baselineMs: r.baseline_ms,
      bestMs: r.best_ms,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
    };
  });
}
