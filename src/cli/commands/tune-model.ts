/**
 * `colt tune model.onnx`: every task of an ONNX model tuned with one shared trial budget
 * (src/tuning/model-tuner.ts), then the model written as one C library, built with its
 * one cc line and checked against ONNX Runtime (src/tuning/model-library.ts).
 */
import { basename } from "node:path";
import type { Command } from "commander";
import type { Db } from "../../db/database.ts";
import type { ModelReport } from "../../library/model-report.ts";
import { timeShares } from "../../library/model-report.ts";
import { cacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import { machineProfile } from "../../measure/profile.ts";
import { importModel } from "../../onnx/import/import-model.ts";
import type { StrategyName } from "../../search/strategies.ts";
import { buildModelLibrary } from "../../tuning/model-library.ts";
import { distinctTasks, tuneModel } from "../../tuning/model-tuner.ts";
import { formatMs, percent } from "../../util/format.ts";
import { ensureDir } from "../../util/paths.ts";
import { UsageError } from "../errors.ts";
import { admitPrograms } from "../options.ts";
import { parseShapeOverrides } from "../../workloads/registry.ts";
import { printErr, printOut } from "../output.ts";
import { guardRuns, type Ending } from "../run-lifecycle.ts";

export interface TuneModelOptions {
  readonly strategy: string;
  readonly trials: number;
  readonly seed: number;
  readonly threads: number;
  readonly minMs: number;
  readonly reuse: boolean;
  readonly shape?: string;
  readonly out?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly maxMemory?: string;
}

/** Options of `colt tune` that only a single workload or task takes. */
const SINGLE_WORKLOAD_OPTIONS = [
  "resume",
  "replay",
  "remeasure",
  "models",
  "queue",
  "calls",
  "maxTokens",
  "maxUsd",
  "timeLimit",
  "patience",
  "size",
];

export const isModelFile = (workload: string) =>
  workload.endsWith(".onnx") && !workload.includes("#");

/** The library directory when --out is not given: next to where colt runs, named after the model. */
export const defaultLibraryDir = (file: string) => `${basename(file, ".onnx")}-colt`;

export function checkModelOptions(command: Command): void {
  const given = SINGLE_WORKLOAD_OPTIONS.filter((o) => command.getOptionValueSource(o) === "cli");
  if (given.length > 0)
    throw new UsageError(
      `${given.map((o) => `--${o.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(", ")}: not with a whole model; tune one task as model.onnx#task for that`,
    );
}

export async function tuneModelCommand(
  file: string,
  opts: TuneModelOptions,
  db: Db,
): Promise<void> {
  const dims = parseShapeOverrides(opts.shape ?? "", "symbolic dimensions of the model");
  const model = importModel(file, dims);
  const out = opts.out ?? defaultLibraryDir(file);
  ensureDir(out, "--out");
  const memoryLimit = admitPrograms(
    distinctTasks(model).map((t) => t.task.program),
    opts.maxMemory,
  );
  const compiler = detectCompiler();
  const profile = await machineProfile(compiler, cacheDir());
  const talk = !opts.json && !opts.quiet;
  const ending: Ending = {};
  await guardRuns(ending, async (stop) => {
    const tuned = await tuneModel(
      model,
      {
        model: file,
        ...(opts.shape !== undefined ? { shape: opts.shape } : {}),
        strategy: opts.strategy as StrategyName,
        trials: opts.trials,
        seed: opts.seed,
        threads: opts.threads,
        minMs: opts.minMs,
        reuse: opts.reuse,
      },
      {
        db,
        compiler,
        profile,
        runner: (clock) =>
          new MeasurementEngine({
            compiler,
            cacheDir: cacheDir(),
            threads: opts.threads,
            seed: opts.seed,
            minMs: opts.minMs,
            memoryLimit,
            clock,
            stop,
          }),
        stop,
        onRunStart: (lifecycle) => {
          ending.lifecycle = lifecycle;
        },
        onRoundEnd: (t, trials) => {
          if (talk)
            printErr(
              `${t.task.name}: ${trials} trial(s), best ${t.bestMs !== undefined ? formatMs(t.bestMs) : "-"} (baseline ${t.baselineMs !== undefined ? formatMs(t.baselineMs) : "-"})  run ${t.runs[t.runs.length - 1]}\n`,
            );
        },
        warn: (line) => {
          if (!opts.quiet) printErr(`colt: warning: ${line}\n`);
        },
      },
    );
    ending.lifecycle = undefined;
    if (talk) printErr(`building the library in ${out} and checking it against ONNX Runtime\n`);
    const report = await buildModelLibrary(out, tuned, {
      compiler,
      cacheDir: cacheDir(),
      threads: opts.threads,
      seed: opts.seed,
      minMs: opts.minMs,
    });
    if (opts.json) printOut(JSON.stringify({ ...report, out }) + "\n");
    else printOut(render(report, out));
  });
}

function render(r: ModelReport, out: string): string {
  const shares = timeShares(r.tasks);
  const rows = r.tasks.map((t, i) => [
    t.name,
    t.sameAs ? `= ${t.sameAs}` : String(t.trials),
    formatMs(t.baselineMs),
    formatMs(t.bestMs),
    `${(t.baselineMs / t.bestMs).toFixed(2)}x`,
    percent(shares[i]),
    t.ortMs !== null ? formatMs(t.ortMs) : "-",
  ]);
  const table = [["task", "trials", "baseline", "best", "speedup", "share", "ORT"], ...rows];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const lines = table.map((row) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]))
      .join("  ")
      .trimEnd(),
  );
  const e = r.endToEnd;
  lines.push(
    "",
    e
      ? `end to end: COLT ${formatMs(e.coltMs)}, ONNX Runtime ${formatMs(e.ortMs)} (${(e.ortMs / e.coltMs).toFixed(2)}x), outputs agree (relative L2 error ${e.error.toExponential(1)})`
      : "end to end: ONNX Runtime is not installed, no comparison",
    `library: ${out}/ (model.h, model.c, model.weights, main.c, README.txt, tasks.json, report.html)`,
  );
  return lines.join("\n") + "\n";
}
