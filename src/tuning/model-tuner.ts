/**
 * Tunes a whole imported model: the distinct tasks (identical tasks are tuned once) share
 * the trial budget through the task scheduler; each round of a task is a recorded run
 * (src/tuning/run-service.ts) that starts from the best schedule the database knows for
 * the task, so a re-run of the model continues where the last one stopped and another
 * model with the same task starts from its schedule.
 */
import type { Db } from "../db/database.ts";
import { LearnedCostModel } from "../costmodel/learned.ts";
import type { Compiler } from "../measure/compiler.ts";
import type { MachineProfile } from "../measure/profile.ts";
import type { Runner } from "../measure/runner.ts";
import { offlineBucket } from "../models/offline/proposers.ts";
import type { ImportedModel, ImportedTask } from "../onnx/import/import-model.ts";
import type { StrategyName } from "../search/strategies.ts";
import { tune } from "../search/tune.ts";
import { PhaseClock } from "../util/phase-clock.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { TuningRun } from "./run-service.ts";
import {
  DEFAULT_SCHEDULER,
  nextRound,
  type SchedulerSettings,
  type TaskProgress,
} from "./task-scheduler.ts";
import { DEFAULT_FINALISTS, FINAL_ROUNDS } from "../search/finalists.ts";

export class ModelBudgetError extends Error {
  constructor(
    readonly file: string,
    readonly trials: number,
    readonly tasks: number,
  ) {
    super(
      `${file}: --trials ${trials} is fewer than the model's ${tasks} distinct tasks (each needs at least one trial); give --trials ${tasks} or more`,
    );
    this.name = "ModelBudgetError";
  }
}

export interface ModelTuneSettings {
  /** The workload name of a task is `<model>#<task>`, as `colt tune` takes it. */
  readonly model: string;
  /** The `--shape` text fixing the model's symbolic dimensions, stored with each run. */
  readonly shape?: string;
  readonly strategy: StrategyName;
  readonly trials: number;
  readonly seed: number;
  readonly threads: number;
  readonly minMs: number;
  /** Start a task's first round from the best schedule the database knows for it. */
  readonly reuse: boolean;
  readonly scheduler?: SchedulerSettings;
}

export interface ModelTuneContext {
  readonly db: Db;
  readonly compiler: Compiler;
  readonly profile: MachineProfile;
  /** A runner measuring with the given clock (one per round). */
  readonly runner: (clock: PhaseClock) => Runner;
  readonly stop?: AbortSignal;
  /** Each round's run as it starts (to be marked interrupted on a signal). */
  readonly onRunStart?: (lifecycle: RunLifecycle) => void;
  readonly onRoundEnd?: (task: TunedTask, trials: number) => void;
  readonly warn?: (line: string) => void;
}

/** A distinct task of the model and what its rounds found. */
export interface TunedTask {
  readonly task: ImportedTask;
  /** How many tasks of the model are this one (itself included). */
  readonly occurrences: number;
  trials: number;
  baselineMs: number | undefined;
  boundMs: number;
  bestMs: number | undefined;
  previousBestMs: number | undefined;
  /** The best verified trace ("" for the unscheduled program). */
  bestTrace: string;
  readonly runs: string[];
}

export interface TunedModel {
  readonly model: ImportedModel;
  /** Distinct tasks, in the model's order. */
  readonly tasks: readonly TunedTask[];
  readonly trials: number;
}

export function distinctTasks(model: ImportedModel): TunedTask[] {
  return model.tasks
    .filter((t) => t.sameAs === undefined)
    .map((task) => ({
      task,
      occurrences: model.tasks.filter((t) => t === task || t.sameAs === task.name).length,
      trials: 0,
      baselineMs: undefined,
      boundMs: 0,
      bestMs: undefined,
      previousBestMs: undefined,
      bestTrace: "",
      runs: [],
    }));
}

export async function tuneModel(
  model: ImportedModel,
  s: ModelTuneSettings,
  ctx: ModelTuneContext,
): Promise<TunedModel> {
  const tasks = distinctTasks(model);
  if (s.trials < tasks.length) throw new ModelBudgetError(s.model, s.trials, tasks.length);
  // Heaviest first: the warm-up's order, and the tie-break of later rounds.
  const order = [...tasks].sort(
    (a, b) => b.occurrences * b.task.flops - a.occurrences * a.task.flops,
  );
  const base = s.scheduler ?? DEFAULT_SCHEDULER;
  // A short budget still warms every task up (it holds at least one trial per task).
  const settings = {
    ...base,
    warmupTrials: Math.min(base.warmupTrials, Math.floor(s.trials / tasks.length)),
  };
  let used = 0;
  for (let round = 0; ; round++) {
    const progress: TaskProgress[] = order.map((t) => ({
      occurrences: t.occurrences,
      trials: t.trials,
      bestMs: t.bestMs,
      previousBestMs: t.previousBestMs,
      boundMs: t.boundMs,
    }));
    const next = nextRound(progress, s.trials - used, settings);
    if (!next) break;
    const t = order[next.task];
    const spent = await tuneRound(t, next.trials, s, ctx, s.seed + round);
    used += spent;
    ctx.onRoundEnd?.(t, spent);
  }
  return { model, tasks, trials: used };
}

/** One round of a task: a recorded run of at most `trials` trials; returns the trials spent. */
async function tuneRound(
  t: TunedTask,
  trials: number,
  s: ModelTuneSettings,
  ctx: ModelTuneContext,
  seed: number,
): Promise<number> {
  const workload = `${s.model}#${t.task.name}`;
  const clock = new PhaseClock();
  const run = TuningRun.open(ctx.db, {
    workload,
    program: t.task.program,
    profile: ctx.profile,
    compiler: ctx.compiler,
    strategy: s.strategy,
    seed,
    threads: s.threads,
    settings: {
      workload,
      size: "small",
      ...(s.shape !== undefined ? { shape: s.shape } : {}),
      strategy: s.strategy,
      seed,
      trials,
      threads: s.threads,
      minMs: s.minMs,
    },
    runner: ctx.runner(clock),
    // Without reuse only a task's first round starts from scratch: later rounds continue.
    reuse: s.reuse || t.runs.length > 0,
    resumeCommand: (id) => `colt tune ${workload} --resume ${id}`,
    stop: ctx.stop,
    warn: ctx.warn,
  });
  t.runs.push(run.runId);
  ctx.onRunStart?.(run.lifecycle);
  const result = await tune({
    program: t.task.program,
    strategy: s.strategy,
    seed,
    budget: { trials },
    engine: run.engine,
    profile: ctx.profile,
    threads: s.threads,
    proposers: offlineBucket(seed),
    costModel: new LearnedCostModel({ profile: ctx.profile, seed, threads: s.threads }),
    known: run.known,
    clock,
    finalists: { count: DEFAULT_FINALISTS, rounds: FINAL_ROUNDS },
    onBaseline: (ms, rooflineMs) => {
      run.recordBaseline(ms, rooflineMs);
      t.baselineMs ??= ms;
      t.boundMs = rooflineMs;
    },
    onIteration: (e) => run.recordIteration(e),
    onTrial: (trial) => run.recordTrial(trial),
  });
  run.finish(result, {
    task: t.task.name,
    baselineMs: result.baselineMs,
    bestMs: result.best.ms,
    bestTrace: result.best.schedule.text(),
    trials: result.trials.length,
  });
  t.previousBestMs = t.bestMs;
  if (t.bestMs === undefined || result.best.ms < t.bestMs) {
    t.bestMs = result.best.ms;
    t.bestTrace = result.best.schedule.text();
  }
  // A round that stalls (its proposals only repeat measured programs) still spends its
  // share, so that the budget always runs out.
  t.trials += trials;
  return trials;
}
