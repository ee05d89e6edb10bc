/** What a report shows, read from the tuning database. */
import { emitKernel } from "../codegen/c-kernel.ts";
import type { Db } from "../db/database.ts";
import {
  bestOfRun,
  candidatesOfRun,
  expansionsOfRun,
  getRun,
  runsOfBench,
  type RunRow,
} from "../db/records.ts";
import { printLoopNest } from "../ir/print.ts";
import { flopCount, type Program } from "../ir/program.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import type { ExpansionEvent } from "../search/colt.ts";

export interface ReportTrial {
  readonly trial: number;
  readonly ms: number | null;
  readonly status: string;
  readonly model: string | null;
  /** Best GFLOP/s up to and including this trial, the unscheduled program included. */
  readonly bestGflops: number | null;
}

export interface ReportSeries {
  readonly run: string;
  readonly label: string;
  readonly trials: readonly ReportTrial[];
}

export interface ReportModel {
  readonly name: string;
  readonly kind: string;
  readonly calls: number;
  readonly hits: number;
  readonly errors: number;
  readonly courseAlterations: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costUsd: number;
}

export interface ReportData {
  readonly run: RunRow;
  readonly shape: Readonly<Record<string, number>>;
  readonly flops: number;
  readonly baselineMs: number | null;
  readonly rooflineMs: number | null;
  /** This run first, then the other runs of the same bench (overlaid on the curve). */
  readonly series: readonly ReportSeries[];
  readonly expansions: readonly ExpansionEvent[];
  readonly models: readonly ReportModel[];
  readonly best?: {
    readonly trace: string;
    readonly ms: number;
    /** One-off weight preparation, measured apart from `ms`. */
    readonly prepareMs?: number;
    readonly c: string;
  };
  readonly loopNest: string;
}

function seriesOf(db: Db, run: RunRow, flops: number): ReportSeries {
  // The unscheduled program is measured before trial 1: the curve starts at its speed.
  let best: number | null = run.baselineMs !== null ? flops / (run.baselineMs * 1e6) : null;
  const trials = candidatesOfRun(db, run.id)
    .filter((c) => c.trial !== null)
    .map((c): ReportTrial => {
      if (c.verified && c.ms !== null) {
        const g = flops / (c.ms * 1e6);
        if (best === null || g > best) best = g;
      }
      return { trial: c.trial!, ms: c.ms, status: c.status, model: c.model, bestGflops: best };
    });
  return { run: run.id, label: `${run.strategy} (seed ${run.seed})`, trials };
}

function modelsOf(run: RunRow): ReportModel[] {
  const models = run.summary?.models;
  if (!Array.isArray(models)) return [];
  return models.map((m: Record<string, unknown>) => ({
    name: String(m.name),
    kind: String(m.kind),
    calls: Number(m.calls ?? 0),
    hits: Number(m.hits ?? 0),
    errors: Number(m.errors ?? 0),
    courseAlterations: Number(m.courseAlterations ?? 0),
    tokensIn: Number(m.tokensIn ?? 0),
    tokensOut: Number(m.tokensOut ?? 0),
    costUsd: Number(m.costUsd ?? 0),
  }));
}

export function reportData(db: Db, runId: string, program: Program): ReportData {
  const run = getRun(db, runId);
  const flops = flopCount(program);
  const others = run.bench
    ? runsOfBench(db, run.bench).filter((r) => r.id !== run.id && r.workloadId === run.workloadId)
    : [];
  const best = bestOfRun(db, run.id);
  return {
    run,
    shape: program.params,
    flops,
    baselineMs: run.baselineMs,
    rooflineMs: run.rooflineMs,
    series: [run, ...others].map((r) => seriesOf(db, r, flops)),
    expansions: expansionsOfRun<ExpansionEvent>(db, run.id),
    models: modelsOf(run),
    ...(best && best.ms !== null
      ? {
          best: {
            trace: best.trace,
            ms: best.ms,
            ...(best.prepareMs !== null ? { prepareMs: best.prepareMs } : {}),
            c: emitKernel(Schedule.fromTrace(program, parseTrace(best.trace)).lower()).code,
          },
        }
      : {}),
    loopNest: printLoopNest(Schedule.initial(program).lower()),
  };
}
