/** `colt compare`: a schedule of a workload against ONNX Runtime (and OpenBLAS for matmuls). */
import type { Command } from "commander";
import { compareWithOrt, type Comparison, type SideTiming } from "../../compare/compare.ts";
import { ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import {
  bestKnownOrInitial,
  scheduleFromFile,
  scheduleOfRun,
  type ChosenSchedule,
} from "../compare-schedule.ts";
import { DB_OPTION, withDb } from "../db.ts";
import { UsageError } from "../errors.ts";
import { formatFlops, formatMs, percent } from "../../util/format.ts";
import {
  admitPrograms,
  loadProgram,
  loadTaskOnnx,
  loadTimedTarget,
  MAX_MEMORY_OPTION,
  TARGET_OPTION,
  parsePositiveInt,
  parseThreads,
  type WorkloadOptions,
} from "../options.ts";
import { printOut } from "../output.ts";
import { compareModel } from "./compare-model.ts";
import { isModelFile } from "./tune-model.ts";

interface CompareCliOptions extends WorkloadOptions {
  target?: string;
  schedule?: string;
  run?: string;
  threads?: number;
  seed: number;
  minMs: number;
  rounds: number;
  db?: string;
  json?: boolean;
  maxMemory?: string;
}

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description(
      "time a schedule against the workload's equivalent ONNX graph in ONNX Runtime (same inputs, cores and threads)",
    )
    .argument(
      "<workload>",
      "workload name (see 'colt workloads'), model.onnx#task, or model.onnx (its C library end to end)",
    )
    .option("--size <size>", "small, medium or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option("--schedule <file>", "schedule file (default: the best known schedule)")
    .option("--run <id>", "the best schedule of this run (its shape)")
    .option("--threads <n>", "cores to run on (default 1, or the run's)", parseThreads)
    .option("--seed <n>", "seed of the random inputs", parsePositiveInt("--seed"), 1)
    .option(
      "--min-ms <ms>",
      "minimum measuring time of each side, split over the rounds",
      parsePositiveInt("--min-ms"),
      300,
    )
    .option(
      "--rounds <n>",
      "times the sides alternate; the ratio is the median of the rounds' ratios",
      parsePositiveInt("--rounds"),
      3,
    )
    .option(...MAX_MEMORY_OPTION)
    .option(...DB_OPTION)
    .option(...TARGET_OPTION)
    .option("--json", "print one JSON object")
    .action(async (workload: string, opts: CompareCliOptions) => {
      if (isModelFile(workload)) return compareModel(workload, opts);
      if (opts.schedule && opts.run) {
        throw new UsageError("give --schedule or --run, not both");
      }
      const target = loadTimedTarget(opts.target, "compare");
      const chosen = await chooseSchedule(workload, opts, target.name);
      const memoryLimit = admitPrograms([chosen.schedule.program], opts.maxMemory);
      const threads = opts.threads ?? chosen.runThreads ?? 1;
      const result = await compareWithOrt({
        workload,
        schedule: chosen.schedule,
        compiler: detectCompiler(undefined, target),
        cacheDir: ensureCacheDir(),
        memoryLimit,
        threads,
        seed: opts.seed,
        minMs: opts.minMs,
        rounds: opts.rounds,
        onnxModel: loadTaskOnnx(workload, opts),
      });
      if (opts.json) {
        const json = {
          ...result,
          schedule: { source: chosen.source, run: chosen.runId, trace: chosen.schedule.text() },
        };
        printOut(JSON.stringify(json) + "\n");
      } else {
        printOut(formatComparison(result, chosen));
      }
    });
}

function chooseSchedule(
  workload: string,
  opts: CompareCliOptions,
  target: string,
): Promise<ChosenSchedule> {
  if (opts.schedule)
    return Promise.resolve(scheduleFromFile(loadProgram(workload, opts), opts.schedule));
  return withDb(opts.db, (db) =>
    opts.run
      ? scheduleOfRun(db, workload, opts.run)
      : bestKnownOrInitial(db, loadProgram(workload, opts), opts.threads ?? 1, target),
  );
}

function side(label: string, t: SideTiming, note: string): string {
  return `  ${label.padEnd(13)} ${formatMs(t.medianMs).padStart(10)} median of ${t.reps} (spread ${percent(t.spread)}, fastest ${formatMs(t.minMs)}), ${t.gflops.toFixed(1)} GFLOP/s  ${note}`;
}

function formatComparison(r: Comparison, chosen: ChosenSchedule): string {
  const shape = Object.entries(r.shape)
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");
  const lines = [
    `${r.workload} (${shape}), ${formatFlops(r.flops)}, ${r.threads} thread${r.threads > 1 ? "s" : ""} on CPU ${r.cpus}`,
    side("COLT", r.colt, chosen.source),
    side(
      "ONNX Runtime",
      r.ort,
      `${r.ort.version}, CPU provider; output verified (relative L2 error ${r.ort.error.toExponential(1)})`,
    ),
  ];
  if (r.openblas) lines.push(side("OpenBLAS", r.openblas, "cblas_sgemm, same shape and cores"));
  const rounds =
    r.roundRatios.length > 1
      ? `, median of ${r.roundRatios.length} alternating rounds: ${r.roundRatios.map((x) => `${x.toFixed(2)}x`).join(" ")}`
      : "";
  lines.push(
    `  COLT / ORT    ${r.ratio.toFixed(2)}x (${r.ratio >= 1 ? "COLT faster" : "ONNX Runtime faster"}: ORT time / COLT time${rounds})`,
    `  fastest       ${r.minRatio.toFixed(2)}x (ORT's fastest repetition / COLT's)`,
  );
  return lines.join("\n") + "\n";
}
