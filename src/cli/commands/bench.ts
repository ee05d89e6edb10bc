/** `colt bench`: strategies side by side on the same machine profile, a table and a combined report. */
import { join } from "node:path";
import type { Command } from "commander";
import type { Db } from "../../db/database.ts";
import { newRunId } from "../../db/records.ts";
import { cacheDir, ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler, type Compiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import { machineProfile, type MachineProfile } from "../../measure/profile.ts";
import type { QueueRunner } from "../../distributed/queue-runner.ts";
import { offlineBucket } from "../../models/offline/proposers.ts";
import { reportData } from "../../report/data.ts";
import { escapeHtml, renderBenchReport } from "../../report/html.ts";
import {
  BENCH_STRATEGIES,
  BenchError,
  benchTable,
  EQUAL_CALLS_MCTS,
  checkBenchStrategies,
  runBench,
  runPoints,
  type BenchRow,
  type BenchStrategy,
} from "../../search/bench.ts";
import { ensureDir, writeFileAt } from "../../util/paths.ts";
import { PhaseClock } from "../../util/phase-clock.ts";
import { guardRuns, type Ending } from "../run-lifecycle.ts";
import { TuningRun } from "../../tuning/run-service.ts";
import { DB_OPTION, withDb } from "../db.ts";
import {
  LOCAL_FALLBACK_OPTION,
  openQueueRunner,
  QUEUE_OPTION,
  WAIT_FOR_WORKER_OPTION,
  type QueueCliOptions,
} from "../queue.ts";
import { UsageError } from "../errors.ts";
import { formatMs, percent } from "../../util/format.ts";
import {
  admitPrograms,
  loadProgram,
  loadTimedTarget,
  MAX_MEMORY_OPTION,
  TARGET_OPTION,
  parseNonNegativeInt,
  parsePositiveInt,
  parseSize,
  parseThreads,
} from "../options.ts";
import type { MemoryLimit } from "../../measure/memory-limit.ts";
import { printErr, printOut } from "../output.ts";

interface BenchCliOptions extends QueueCliOptions {
  target?: string;
  workloads: string;
  strategies: string;
  seeds: number;
  trials: number;
  size: string;
  threads: number;
  minMs: number;
  finalRounds: number;
  finalMinMs: number;
  out?: string;
  db?: string;
  json?: boolean;
  quiet?: boolean;
  maxMemory?: string;
}

const COLUMNS = [
  "workload",
  "strategy",
  "best",
  "IQR",
  "speedup",
  "GFLOP/s",
  "of peak",
  "trials to 90%",
  "largest-model share",
  "proposer cost",
  "proposer calls per model",
  "wall",
] as const;

function cells(r: BenchRow): string[] {
  return [
    r.workload,
    r.strategy,
    r.bestMs !== null ? formatMs(r.bestMs) : "-",
    r.bestMsIqr !== null ? formatMs(r.bestMsIqr) : "-",
    r.speedup !== null ? `${r.speedup.toFixed(2)}x` : "-",
    r.gflops !== null ? r.gflops.toFixed(1) : "-",
    r.peakFraction !== null ? percent(r.peakFraction) : "-",
    r.trialsTo90 !== null ? String(r.trialsTo90) : "-",
    r.largestShare !== null ? percent(r.largestShare) : "-",
    r.proposerCost !== null ? r.proposerCost.toFixed(1) : "-",
    Object.entries(r.calls)
      .map(([m, n]) => `${m} ${n}`)
      .join(", ") || "-",
    `${(r.wallMs / 1000).toFixed(1)} s`,
  ];
}

export function renderTable(rows: readonly BenchRow[]): string {
  const table = [[...COLUMNS], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return (
    table
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

function tableHtml(rows: readonly BenchRow[]): string {
  return `<table><thead><tr>${COLUMNS.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>${rows
    .map(
      (r) =>
        `<tr>${cells(r)
          .map((c) => `<td>${escapeHtml(c)}</td>`)
          .join("")}</tr>`,
    )
    .join("")}</tbody></table>`;
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description(
      "run strategies side by side at equal trial budgets; a table and a combined report",
    )
    .option("--workloads <list>", "comma-separated workloads", "matmul,softmax")
    .option(
      "--strategies <list>",
      `comma-separated, of ${BENCH_STRATEGIES.join(", ")} (${EQUAL_CALLS_MCTS}: single-model MCTS held to the calls the same seed's colt run gave its largest model; list it after colt)`,
      "colt,random,mcts",
    )
    .option("--seeds <n>", "seeds 1..n per strategy", parsePositiveInt("--seeds"), 3)
    .option("--trials <n>", "measurement budget of every run", parsePositiveInt("--trials"), 32)
    .option("--size <size>", "small, medium or paper", "small")
    .option("--threads <n>", "cores each candidate runs on", parseThreads, 1)
    .option(...TARGET_OPTION)
    .option(
      "--min-ms <ms>",
      "minimum measuring time per candidate",
      parsePositiveInt("--min-ms"),
      20,
    )
    .option(
      "--final-rounds <n>",
      "re-measure every run's best and the unscheduled program side by side this many times (0: report the runs' own times)",
      parseNonNegativeInt("--final-rounds"),
      3,
    )
    .option(
      "--final-min-ms <ms>",
      "minimum measuring time of each re-measurement",
      parsePositiveInt("--final-min-ms"),
      200,
    )
    .option(
      "--out <dir>",
      "write bench.txt, bench.json and report.html here (default: report only, bench-<id>.html)",
    )
    .option(...MAX_MEMORY_OPTION)
    .option(...QUEUE_OPTION)
    .option(...WAIT_FOR_WORKER_OPTION)
    .option(...LOCAL_FALLBACK_OPTION)
    .option(...DB_OPTION)
    .option("--json", "print the table as JSON")
    .option("--quiet", "no progress lines")
    .action(async (opts: BenchCliOptions) => {
      let strategies: BenchStrategy[];
      try {
        strategies = checkBenchStrategies(opts.strategies.split(",").map((s) => s.trim()));
      } catch (e) {
        if (e instanceof BenchError) throw new UsageError(e.message);
        throw e;
      }
      parseSize(opts.size);
      const programs = opts.workloads.split(",").map((w) => ({
        workload: w.trim(),
        program: loadProgram(w.trim(), { size: opts.size }),
      }));
      const memoryLimit = admitPrograms(
        programs.map((p) => p.program),
        opts.maxMemory,
      );
      // Checked before the database records a run, so a bad path leaves no run behind.
      ensureCacheDir();
      if (opts.out) ensureDir(opts.out, "--out");
      // Bench runs are not resumable (their measurements use seed 1): after a signal the
      // run under way is marked interrupted and the bench stops.
      const ending: Ending = {};
      await withDb(opts.db, (db) =>
        guardRuns(ending, (stop) =>
          bench(db, opts, strategies, programs, memoryLimit, stop, ending),
        ),
      );
    });
}

async function bench(
  db: Db,
  opts: BenchCliOptions,
  strategies: BenchStrategy[],
  programs: { workload: string; program: ReturnType<typeof loadProgram> }[],
  memoryLimit: MemoryLimit,
  stop: AbortSignal,
  ending: Ending,
): Promise<void> {
  const compiler = detectCompiler(undefined, loadTimedTarget(opts.target, "bench"));
  const profile = await machineProfile(compiler, cacheDir());
  const benchId = `bench-${newRunId()}`;
  const progress = !opts.quiet && !opts.json;
  const firstRun = new Map<string, string>();
  const queues = await openQueues(opts, compiler, profile, programs);
  try {
    await benchWith(db, opts, strategies, programs, memoryLimit, queues, {
      compiler,
      profile,
      benchId,
      progress,
      firstRun,
      stop,
      ending,
    });
  } finally {
    for (const q of queues.values()) await q?.close();
  }
}

/** With --queue: a queue runner per workload (its jobs name it), or none to measure locally. */
async function openQueues(
  opts: BenchCliOptions,
  compiler: Compiler,
  profile: MachineProfile,
  programs: readonly { workload: string }[],
): Promise<Map<string, QueueRunner | undefined>> {
  const queues = new Map<string, QueueRunner | undefined>();
  if (!opts.queue) return queues;
  for (const { workload } of programs) {
    const settings = {
      workload,
      size: parseSize(opts.size),
      seed: 1,
      threads: opts.threads,
      minMs: opts.minMs,
    };
    const say = { info: !opts.quiet && !opts.json && queues.size === 0, warnings: !opts.quiet };
    queues.set(
      workload,
      await openQueueRunner({ ...opts, queue: opts.queue }, compiler, profile, settings, say),
    );
  }
  return queues;
}

interface BenchContext {
  readonly compiler: Compiler;
  readonly profile: MachineProfile;
  readonly benchId: string;
  readonly progress: boolean;
  readonly firstRun: Map<string, string>;
  /** Aborted by the first SIGINT/SIGTERM; `ending` holds the run under way to mark. */
  readonly stop: AbortSignal;
  readonly ending: Ending;
}

async function benchWith(
  db: Db,
  opts: BenchCliOptions,
  strategies: BenchStrategy[],
  programs: { workload: string; program: ReturnType<typeof loadProgram> }[],
  memoryLimit: MemoryLimit,
  queues: ReadonlyMap<string, QueueRunner | undefined>,
  { compiler, profile, benchId, progress, firstRun, stop, ending }: BenchContext,
): Promise<void> {
  const runs = await runBench({
    programs,
    strategies,
    seeds: Array.from({ length: opts.seeds }, (_, i) => i + 1),
    trials: opts.trials,
    profile,
    threads: opts.threads,
    proposers: (seed) => offlineBucket(seed),
    run: (workload, program, variant, seed) => {
      const strategy = variant.name;
      const clock = new PhaseClock();
      const run = TuningRun.open(db, {
        workload,
        program,
        profile,
        compiler,
        strategy: variant.strategy,
        seed,
        threads: opts.threads,
        settings: {
          workload,
          size: opts.size,
          strategy,
          seed,
          trials: opts.trials,
          threads: opts.threads,
          minMs: opts.minMs,
        },
        runner:
          queues.get(workload) ??
          new MeasurementEngine({
            compiler,
            cacheDir: cacheDir(),
            threads: opts.threads,
            seed: 1,
            minMs: opts.minMs,
            memoryLimit,
            clock,
            stop,
          }),
        // Strategies are compared from scratch.
        reuse: false,
        bench: benchId,
        stop,
      });
      const { runId } = run;
      if (!firstRun.has(workload)) firstRun.set(workload, runId);
      ending.lifecycle = run.lifecycle;
      return {
        engine: run.engine,
        clock,
        onTrial: (t) => run.recordTrial(t),
        onBaseline: (ms, roofline) => run.recordBaseline(ms, roofline),
        done: (r) => {
          run.finish(r, { models: r.models.map((m) => m.toJSON()), bestMs: r.best.ms });
          if (progress)
            printErr(
              `${workload} ${strategy} seed ${seed}: ${formatMs(r.best.ms)} (${(r.baselineMs / r.best.ms).toFixed(2)}x)  run ${runId}\n`,
            );
        },
      };
    },
    remeasure: {
      engine: new MeasurementEngine({
        compiler,
        cacheDir: cacheDir(),
        threads: opts.threads,
        seed: 1,
        minMs: opts.finalMinMs,
        memoryLimit,
        stop,
      }),
      rounds: opts.finalRounds,
      done: (workload, unscheduledMs, done) => {
        if (progress)
          printErr(
            `${workload} re-measured side by side: unscheduled ${formatMs(unscheduledMs)}, ${done.map((r) => `${r.strategy} seed ${r.seed} ${r.remeasured ? formatMs(r.remeasured.bestMs) : "-"}`).join(", ")}\n`,
          );
      },
    },
  });
  const rows = benchTable(runs, profile.peakFlopsPerCore * opts.threads);
  const text = renderTable(rows);
  const remeasured =
    opts.finalRounds > 0
      ? `, bests re-measured side by side with the unscheduled program (${opts.finalRounds} round(s) of >= ${opts.finalMinMs} ms)`
      : "";
  const title = `colt bench ${benchId}: ${opts.trials} trials, seeds 1..${opts.seeds}, ${opts.size}, ${opts.threads} core(s), ${compiler.version}${remeasured}`;
  const html = await renderBenchReport(
    title,
    tableHtml(rows),
    programs.map(({ workload, program }) => reportData(db, firstRun.get(workload)!, program)),
    runPoints(runs),
  );
  let reportFile = `${benchId}.html`;
  if (opts.out) {
    writeFileAt(join(opts.out, "bench.txt"), `${title}\n\n${text}`, "--out");
    writeFileAt(
      join(opts.out, "bench.json"),
      JSON.stringify({ bench: benchId, rows }, null, 2) + "\n",
      "--out",
    );
    reportFile = join(opts.out, "report.html");
  }
  writeFileAt(reportFile, html, "--out");
  if (opts.json) printOut(JSON.stringify({ bench: benchId, report: reportFile, rows }) + "\n");
  else printOut(`${title}\n\n${text}\nreport: ${reportFile}\n`);
}
