/** `colt tune`: search for the fastest schedule of a workload. */
import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { Db } from "../../db/database.ts";
import type { RunRow } from "../../db/records.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import { TuningRun } from "../../tuning/run-service.ts";
import { LearnedCostModel } from "../../costmodel/learned.ts";
import { rooflineSeconds } from "../../measure/roofline.ts";
import { compulsoryTraffic, flopCount, kernelFlopCount, type Program } from "../../ir/program.ts";
import { cacheDir, ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler, type Compiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import type { Runner } from "../../measure/runner.ts";
import type { QueueRunner } from "../../distributed/queue-runner.ts";
import { machineProfile } from "../../measure/profile.ts";
import { offlineBucket } from "../../models/offline/proposers.ts";
import type { MachineProfile } from "../../measure/profile.ts";
import {
  isStrategy,
  STRATEGIES,
  STRATEGY_REGISTRY,
  type StrategyName,
} from "../../search/strategies.ts";
import { tune } from "../../search/tune.ts";
import { PhaseClock } from "../../util/phase-clock.ts";
import { ensureDir } from "../../util/paths.ts";
import { RECORDS_FILE } from "../../models/llm/records.ts";
import { DB_OPTION, openCliDb, withDb } from "../db.ts";
import { checkModelOptions, isModelFile, tuneModelCommand } from "./tune-model.ts";
import { writeReport } from "./report.ts";
import { UsageError } from "../errors.ts";
import { createProgress } from "../progress.ts";
import { guardRuns, resumeCommandOf, type Ending } from "../run-lifecycle.ts";
import { getRunByRef } from "../run-ref.ts";
import { DEFAULT_FINALISTS, FINAL_ROUNDS } from "../../search/finalists.ts";
import { openModels } from "../models.ts";
import {
  admitPrograms,
  loadProgram,
  loadTimedTarget,
  TARGET_OPTION,
  MAX_MEMORY_OPTION,
  parseNonNegativeInt,
  parsePositiveInt,
  parsePositiveNumber,
  parseSize,
  parseThreads,
} from "../options.ts";
import {
  readRecordedRun,
  ReplayedMeasurements,
  type RecordedRun,
  type RunSettings,
} from "../recorded-run.ts";
import {
  adoptRecordedSettings,
  adoptSettings,
  settingsOf,
  type TuneCliOptions,
} from "./tune-settings.ts";
import { renderSummary, summarize } from "./tune-summary.ts";
import { startRunDirectory, writeRunDirectory } from "./tune-run-directory.ts";
import type { BoundTarget } from "../../target/target.ts";
import { printErr, printOut } from "../output.ts";
import {
  LOCAL_FALLBACK_OPTION,
  openQueueRunner,
  QUEUE_OPTION,
  WAIT_FOR_WORKER_OPTION,
} from "../queue.ts";

export function registerTune(program: Command): void {
  program
    .command("tune")
    .description(
      "search for the fastest verified schedule (COLT with the offline bucket by default)",
    )
    .argument(
      "<workload>",
      "workload name (see 'colt workloads'), model.onnx#task, or model.onnx (every task, then the model as a C library)",
    )
    .option("--size <size>", "small, medium or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option(
      "--strategy <name>",
      `one of: ${STRATEGIES.map((n) => `${n} (${STRATEGY_REGISTRY[n].description})`).join("; ")}`,
      STRATEGIES[0],
    )
    .option(
      "--trials <n>",
      "measurement budget (one trial = one measured candidate)",
      parsePositiveInt("--trials"),
      64,
    )
    .option(
      "--seed <n>",
      "seed of every random choice and of the inputs",
      parsePositiveInt("--seed"),
      1,
    )
    .option("--threads <n>", "cores each candidate runs on", parseThreads, 1)
    .option(...TARGET_OPTION)
    .option(
      "--min-ms <ms>",
      "minimum measuring time per candidate",
      parsePositiveInt("--min-ms"),
      50,
    )
    .option("--calls <n>", "budget of proposer calls", parsePositiveInt("--calls"))
    .option(
      "--max-tokens <n>",
      "budget of LLM tokens (input + output)",
      parsePositiveInt("--max-tokens"),
    )
    .option(
      "--max-usd <amount>",
      "budget of LLM spending in US dollars",
      parsePositiveNumber("--max-usd"),
    )
    .option("--time-limit <s>", "wall-time budget in seconds", parsePositiveInt("--time-limit"))
    .option(
      "--patience <rounds>",
      "stop after this many measurement rounds without improvement",
      parsePositiveInt("--patience"),
    )
    .option(
      "--finalists <n>",
      `measure the n fastest trials ${FINAL_ROUNDS} times more at the end, in turns, and choose the best on their medians (0: keep the fastest single measurement)`,
      parseNonNegativeInt("--finalists"),
      DEFAULT_FINALISTS,
    )
    .option(
      "--out <dir>",
      "write the best kernel (C), its trace and the per-trial log (JSON lines) here",
    )
    .option("--json", "print one JSON object at the end, no progress")
    .option("--quiet", "no progress lines")
    .option(
      "--models <bucket>",
      "LLM proposers from a model-bucket file (YAML or JSON; see docs/models.md)",
    )
    .option(
      "--replay <run-dir>",
      "reproduce a recorded --models run offline: answers and measurements from its records",
    )
    .option("--remeasure", "with --replay: measure again instead of replaying measurements")
    .option(...MAX_MEMORY_OPTION)
    .option(...QUEUE_OPTION)
    .option(...WAIT_FOR_WORKER_OPTION)
    .option(...LOCAL_FALLBACK_OPTION)
    .option(...DB_OPTION)
    .option(
      "--resume <run>",
      "continue an interrupted or killed run (id or --out directory), measuring nothing twice",
    )
    .option(
      "--no-reuse",
      "do not start from the best schedule the database knows for this workload and machine",
    )
    .action(async (workload: string, opts: TuneCliOptions, command: Command) => {
      if (isModelFile(workload)) checkModelOptions(command);
      const replay = opts.replay ? readRecordedRun(opts.replay) : undefined;
      if (replay) adoptRecordedSettings(workload, opts, command, replay);
      if (opts.resume && (opts.replay || opts.models))
        throw new UsageError(
          "--resume works with the offline proposers only (an LLM may answer differently the second time); not with --models or --replay",
        );
      if (opts.models && replay)
        throw new UsageError(
          "--models and --replay exclude each other: a replay uses the recorded bucket",
        );
      if (opts.remeasure && !replay) throw new UsageError("--remeasure needs --replay <run-dir>");
      if (opts.queue && replay)
        throw new UsageError("--queue and --replay exclude each other: a replay measures here");
      if (replay && opts.out && resolve(opts.out) === resolve(replay.dir))
        throw new UsageError(
          "--out must not be the --replay directory (its records would be overwritten)",
        );
      if (!isStrategy(opts.strategy)) {
        throw new UsageError(
          `unknown strategy '${opts.strategy}' (strategies: ${STRATEGIES.join(", ")})`,
        );
      }
      if (isModelFile(workload)) {
        ensureCacheDir();
        return withDb(opts.db, (db) => tuneModelCommand(workload, opts, db));
      }
      // Checked before the database records a run, so a bad path leaves no run behind.
      const measures = !replay || opts.remeasure === true;
      if (measures) ensureCacheDir();
      if (opts.out) ensureDir(opts.out, "--out");
      const db = measures ? openCliDb(opts.db) : undefined;
      try {
        await tuneCommand(workload, opts, command, replay, db);
      } finally {
        db?.close();
      }
    });
}

/**
 * Runs the search; whatever ends it, a recorded run is left `done`, `failed` or (after
 * SIGINT/SIGTERM) `interrupted` with the command that resumes it, never `running`.
 */
async function tuneCommand(
  workload: string,
  opts: TuneCliOptions,
  command: Command,
  replay: RecordedRun | undefined,
  db: Db | undefined,
): Promise<void> {
  const ending: Ending = {};
  if (!db) {
    // A strict replay records nothing: signals keep their default effect.
    try {
      return await searchAndReport(workload, opts, command, replay, db, undefined, ending);
    } catch (e) {
      ending.progress?.stop();
      throw e;
    }
  }
  await guardRuns(ending, (stop) =>
    searchAndReport(workload, opts, command, replay, db, stop, ending),
  );
}

async function searchAndReport(
  workload: string,
  opts: TuneCliOptions,
  command: Command,
  replay: RecordedRun | undefined,
  db: Db | undefined,
  stop: AbortSignal | undefined,
  ending: Ending,
): Promise<void> {
  const resumed = opts.resume && db ? getRunByRef(db, opts.resume) : undefined;
  if (resumed)
    adoptSettings(
      workload,
      opts,
      command,
      resumed.settings as unknown as RunSettings,
      `--resume ${resumed.id}`,
    );
  const strategy = opts.strategy as StrategyName;
  const target = loadTimedTarget(opts.target, "tune");
  const prog = loadProgram(workload, opts);
  // A strict replay answers measurements from the records: no compiler involved.
  // The cost model (whose predictions prompts quote) sees the recorded machine.
  let engine: Runner;
  let profile: MachineProfile;
  let compiler: Compiler | undefined;
  // Shared by the engine (building, measuring) and the search (proposing).
  const clock = new PhaseClock();
  let queued: QueueRunner | undefined;
  if (replay && !opts.remeasure) {
    engine = new ReplayedMeasurements(replay);
    profile = replay.profile;
  } else {
    const memoryLimit = admitPrograms([prog], opts.maxMemory);
    compiler = detectCompiler(undefined, target);
    engine = new MeasurementEngine({
      compiler,
      cacheDir: cacheDir(),
      threads: opts.threads,
      seed: opts.seed,
      minMs: opts.minMs,
      memoryLimit,
      clock,
      stop,
    });
    profile = replay?.profile ?? (await machineProfile(compiler, cacheDir()));
    if (opts.queue) {
      const settings = {
        workload,
        size: parseSize(opts.size),
        seed: opts.seed,
        threads: opts.threads,
        minMs: opts.minMs,
      };
      queued = await openQueueRunner({ ...opts, queue: opts.queue }, compiler, profile, settings, {
        info: !opts.quiet && !opts.json,
        warnings: !opts.quiet,
      });
      engine = queued ?? engine;
    }
  }
  try {
    await tuneWith(workload, opts, replay, db, ending, {
      prog,
      strategy,
      resumed,
      engine,
      profile,
      compiler,
      queued,
      target,
      clock,
      stop,
    });
  } finally {
    await queued?.close();
  }
}

/** What measures a run, and on what. */
interface Measuring {
  readonly prog: Program;
  readonly strategy: StrategyName;
  readonly resumed: RunRow | undefined;
  readonly engine: Runner;
  readonly profile: MachineProfile;
  readonly target: BoundTarget;
  readonly compiler: Compiler | undefined;
  readonly queued: QueueRunner | undefined;
  /** Shared by the engine (building, measuring) and the search (proposing). */
  readonly clock: PhaseClock;
  /** Aborted by the first SIGINT/SIGTERM (see run-lifecycle.ts). */
  readonly stop: AbortSignal | undefined;
}

async function tuneWith(
  workload: string,
  opts: TuneCliOptions,
  replay: RecordedRun | undefined,
  db: Db | undefined,
  ending: Ending,
  m: Measuring,
): Promise<void> {
  const { prog, strategy, resumed, profile, target, compiler, queued, clock, stop } = m;
  let { engine } = m;
  let recording: TuningRun | undefined;
  let known: readonly Schedule[] | undefined;
  const models = await openModels({
    bucketFile: opts.models,
    replay,
    remeasure: opts.remeasure === true,
    seed: opts.seed,
    recordTo: opts.out ? join(opts.out, RECORDS_FILE) : undefined,
    env: process.env,
    warn: (line) => {
      if (!opts.quiet) printErr(`colt: warning: ${line}\n`);
    },
  });
  if (db && compiler) {
    const run = TuningRun.open(db, {
      workload,
      program: prog,
      profile,
      compiler,
      strategy,
      seed: opts.seed,
      threads: opts.threads,
      settings: settingsOf(workload, opts),
      runner: engine,
      reuse: opts.reuse && !replay,
      resumed,
      resumeCommand: (runId) => resumeCommandOf(workload, runId, opts.db),
      stop,
      warn: (line) => {
        if (!opts.quiet) printErr(`colt: warning: ${line}\n`);
      },
    });
    recording = run;
    known = run.known;
    ending.lifecycle = run.lifecycle;
    engine = run.engine;
    if (!opts.quiet && !opts.json)
      printErr(
        `${resumed ? "resuming" : "run"} ${run.runId}${run.startingPoints.length > 0 ? ` (starting from ${run.startingPoints.join(" and ")})` : ""}\n`,
      );
  }
  if (opts.out)
    startRunDirectory(
      opts.out,
      settingsOf(workload, opts),
      profile,
      models?.bucket,
      recording?.runId,
    );
  const proposers = models?.proposers ?? offlineBucket(opts.seed);
  const progress = createProgress({
    trials: opts.trials,
    flops: flopCount(prog),
    enabled: !opts.json && !opts.quiet,
  });
  ending.progress = progress;
  const result = await tune({
    program: prog,
    strategy,
    seed: opts.seed,
    budget: {
      trials: opts.trials,
      proposerCalls: opts.calls,
      tokens: opts.maxTokens,
      usd: opts.maxUsd,
      wallMs: opts.timeLimit !== undefined ? opts.timeLimit * 1000 : undefined,
      patience: opts.patience,
    },
    engine,
    profile,
    threads: opts.threads,
    target,
    proposers,
    costModel: new LearnedCostModel({ profile, seed: opts.seed, threads: opts.threads }),
    known,
    clock,
    finalists: { count: opts.finalists ?? 0, rounds: FINAL_ROUNDS },
    onIteration: (e) => {
      recording?.recordIteration(e);
      progress.iteration(e);
    },
    onBaseline: (ms, rooflineMs) => {
      recording?.recordBaseline(ms, rooflineMs);
      progress.baseline(ms);
    },
    onTrial: (t) => {
      recording?.recordTrial(t);
      progress.trial(t);
    },
  });
  progress.stop();
  const executedFlops = Math.min(
    flopCount(prog),
    kernelFlopCount(result.best.schedule.state.program),
  );
  const summary = {
    ...summarize(
      workload,
      parseSize(opts.size),
      prog.params,
      result,
      flopCount(prog),
      profile.peakFlopsPerCore * opts.threads,
      {
        flops: executedFlops,
        rooflineMs:
          rooflineSeconds(executedFlops, compulsoryTraffic(prog), profile, opts.threads) * 1000,
      },
      models?.report(),
    ),
    ...(recording
      ? {
          run: recording.runId,
          database: { fromDatabase: recording.engine.fromDb, measured: recording.engine.measured },
        }
      : {}),
    ...(queued ? { workers: queued.workers() } : {}),
  };
  recording?.finish(result, summary);
  if (opts.out) {
    writeRunDirectory(opts.out, result, summary);
    if (db && recording) await writeReport(db, recording.runId, join(opts.out, "report.html"));
  }
  if (opts.json) printOut(JSON.stringify(summary) + "\n");
  else printOut(renderSummary(summary, result));
}
