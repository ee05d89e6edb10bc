/**
 * The options of `colt tune` and the settings a run records: what a replay or a resumed run
 * takes from the recorded run, and the check that the command line agrees with them.
 */
import type { Command } from "commander";
import type { WorkloadOptions } from "../options.ts";
import type { QueueCliOptions } from "../queue.ts";
import type { RecordedRun, RunSettings } from "../recorded-run.ts";
import { UsageError } from "../errors.ts";

export interface TuneCliOptions extends WorkloadOptions, QueueCliOptions {
  target?: string;
  strategy: string;
  trials: number;
  seed: number;
  threads: number;
  minMs: number;
  calls?: number;
  maxTokens?: number;
  maxUsd?: number;
  timeLimit?: number;
  patience?: number;
  /** Absent in the settings of a run recorded before final rounds existed: none. */
  finalists?: number;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  models?: string;
  replay?: string;
  remeasure?: boolean;
  db?: string;
  resume?: string;
  reuse: boolean;
  maxMemory?: string;
}

/** The settings a run records (`run.json`, the database) from the parsed options. */
export function settingsOf(workload: string, o: TuneCliOptions): RunSettings {
  return {
    workload,
    size: o.size ?? "small",
    ...(o.shape !== undefined ? { shape: o.shape } : {}),
    strategy: o.strategy,
    seed: o.seed,
    trials: o.trials,
    threads: o.threads,
    ...(o.target !== undefined ? { target: o.target } : {}),
    minMs: o.minMs,
    ...(o.calls !== undefined ? { calls: o.calls } : {}),
    ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
    ...(o.maxUsd !== undefined ? { maxUsd: o.maxUsd } : {}),
    ...(o.timeLimit !== undefined ? { timeLimit: o.timeLimit } : {}),
    ...(o.patience !== undefined ? { patience: o.patience } : {}),
    ...(o.finalists !== undefined ? { finalists: o.finalists } : {}),
  };
}

/** Option names of the settings a replay takes from the recorded run. */
const REPLAYED_OPTIONS = {
  size: "--size",
  shape: "--shape",
  strategy: "--strategy",
  seed: "--seed",
  trials: "--trials",
  threads: "--threads",
  target: "--target",
  minMs: "--min-ms",
  calls: "--calls",
  maxTokens: "--max-tokens",
  maxUsd: "--max-usd",
  timeLimit: "--time-limit",
  patience: "--patience",
  finalists: "--finalists",
} as const;

/**
 * A replay runs with the recorded settings; an option given on the command line that
 * contradicts them is an error. A strict replay does not stop on wall time (it measures
 * nothing): it stops after the recorded number of trials instead.
 */
export function adoptRecordedSettings(
  workload: string,
  opts: TuneCliOptions,
  command: Command,
  run: RecordedRun,
): void {
  const rec = run.settings;
  adoptSettings(workload, opts, command, rec, `--replay ${run.dir}`);
  if (!opts.remeasure && rec.timeLimit !== undefined) {
    opts.timeLimit = undefined;
    opts.trials = Math.min(rec.trials, Math.max(1, run.trials.length));
  }
}

/** Takes the settings of an earlier run; options on the command line must agree with them. */
export function adoptSettings(
  workload: string,
  opts: TuneCliOptions,
  command: Command,
  rec: RunSettings,
  label: string,
): void {
  if (workload !== rec.workload)
    throw new UsageError(`${label}: the recorded run tuned ${rec.workload}, not ${workload}`);
  const target = opts as unknown as Record<string, unknown>;
  for (const [key, flag] of Object.entries(REPLAYED_OPTIONS)) {
    const recorded = (rec as unknown as Record<string, unknown>)[key];
    if (command.getOptionValueSource(key) === "cli" && target[key] !== recorded) {
      throw new UsageError(
        `${label}: the recorded run used ${flag} ${recorded ?? "(not set)"}, not ${String(target[key])}`,
      );
    }
    target[key] = recorded;
  }
}
