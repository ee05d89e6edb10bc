/**
 * A run directory as input: what `colt tune --replay DIR` reads to reproduce a run
 * offline. `run.json` holds the settings (and, for a recorded run, its id in the tuning
 * database), `bucket.json` the models (no keys), `llm-records.jsonl` every LLM exchange,
 * `profile.json` the machine profile the cost model used, and `trials.jsonl` +
 * `summary.json` the measurements, which a strict replay answers from instead of
 * compiling and running anything.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateBucket, type Bucket } from "../models/bucket.ts";
import { ReplayError } from "../models/llm/errors.ts";
import { readRecords, RECORDS_FILE, type LlmRecord } from "../models/llm/records.ts";
import type { Measurement } from "../measure/engine.ts";
import type { Runner } from "../measure/runner.ts";
import type { MachineProfile } from "../measure/profile.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { FinalFailure } from "../search/finalists.ts";
import type { TrialRecord } from "../search/trials.ts";
import { UsageError } from "./errors.ts";

export const RUN_FILE = "run.json";
export const BUCKET_FILE = "bucket.json";
export const PROFILE_FILE = "profile.json";

/** The settings of a run that decide what it does (written to run.json). */
export interface RunSettings {
  readonly workload: string;
  readonly size: string;
  readonly shape?: string;
  readonly strategy: string;
  readonly seed: number;
  readonly trials: number;
  readonly threads: number;
  /** --target as given (absent: native). */
  readonly target?: string;
  readonly minMs: number;
  readonly calls?: number;
  readonly maxTokens?: number;
  readonly maxUsd?: number;
  readonly timeLimit?: number;
  readonly patience?: number;
  readonly finalists?: number;
}

export interface RecordedRun {
  readonly dir: string;
  readonly settings: RunSettings;
  readonly bucket: Bucket;
  readonly records: LlmRecord[];
  readonly profile: MachineProfile;
  readonly baselineMs: number;
  readonly trials: TrialRecord[];
  /** The final round's measurements (summary.json), which a strict replay answers from. */
  readonly finalists: readonly RecordedFinalist[];
}

export interface RecordedFinalist {
  readonly trial: number;
  readonly againMs: readonly number[];
  readonly failure?: FinalFailure;
}

function readJson(dir: string, file: string, what: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) throw new UsageError(`--replay ${dir}: no ${file} (${what})`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UsageError(`--replay ${dir}: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function readRecordedRun(dir: string): RecordedRun {
  if (!existsSync(dir)) throw new UsageError(`--replay ${dir}: no such directory`);
  const settings = readJson(
    dir,
    RUN_FILE,
    "the run's settings; was it written by colt tune --out?",
  ) as RunSettings;
  const bucket = validateBucket(
    readJson(dir, BUCKET_FILE, "the model bucket; only runs with --models can be replayed"),
    join(dir, BUCKET_FILE),
  );
  const recordsPath = join(dir, RECORDS_FILE);
  if (!existsSync(recordsPath)) throw new UsageError(`--replay ${dir}: no ${RECORDS_FILE}`);
  const records = readRecords(recordsPath);
  const profile = readJson(dir, PROFILE_FILE, "the machine profile") as MachineProfile;
  const summary = readJson(dir, "summary.json", "the run did not finish") as {
    baselineMs?: unknown;
    finalists?: RecordedFinalist[];
  };
  if (typeof summary.baselineMs !== "number")
    throw new UsageError(`--replay ${dir}: summary.json has no baselineMs`);
  const trialsPath = join(dir, "trials.jsonl");
  const trials = existsSync(trialsPath)
    ? readFileSync(trialsPath, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as TrialRecord)
    : [];
  return {
    dir,
    settings,
    bucket,
    records,
    profile,
    baselineMs: summary.baselineMs,
    trials,
    finalists: summary.finalists ?? [],
  };
}

const REPLAYED_COMPILER = { command: "replay", version: "recorded", flags: [] } as const;

/**
 * Answers measurements from a recorded run's trial log, by trace. A trace the recorded
 * run did not measure means this run diverged: a ReplayError.
 */
export class ReplayedMeasurements implements Runner {
  private readonly byTrace = new Map<string, TrialRecord>();
  /** Final-round measurements answered so far, by trace. */
  private readonly again = new Map<string, number>();

  constructor(private readonly run: RecordedRun) {
    for (const t of run.trials) if (!this.byTrace.has(t.trace)) this.byTrace.set(t.trace, t);
  }

  async measure(schedule: Schedule): Promise<Measurement> {
    const trace = schedule.text();
    // The unscheduled program is the baseline, measured before any trial.
    if (trace.trim() === "") return this.measurement(this.run.baselineMs, "ok", true);
    const t = this.byTrace.get(trace);
    if (!t) {
      throw new ReplayError(
        `replay diverged: the recorded run never measured this trace:\n${trace.trimEnd()}`,
      );
    }
    return this.measurement(t.ms, t.status, t.verified, t.gflops, t.detail);
  }

  async measureAll(schedules: readonly Schedule[]): Promise<Measurement[]> {
    const out: Measurement[] = [];
    for (const s of schedules) out.push(await this.measure(s));
    return out;
  }

  /** The final round's measurements of the trial with this trace, in the order recorded. */
  async measureAgain(schedule: Schedule): Promise<Measurement> {
    const trace = schedule.text();
    const t = this.byTrace.get(trace);
    const f = t && this.run.finalists.find((x) => x.trial === t.trial);
    const n = this.again.get(trace) ?? 0;
    this.again.set(trace, n + 1);
    if (t && f && n < f.againMs.length) return this.measurement(f.againMs[n], "ok", true, t.gflops);
    if (f?.failure)
      return this.measurement(undefined, f.failure.status, false, undefined, f.failure.detail);
    throw new ReplayError(
      `replay diverged: the recorded run's final round did not measure this trace ${n + 1} times:\n${trace.trimEnd()}`,
    );
  }

  private measurement(
    ms: number | undefined,
    status: Measurement["status"],
    verified: boolean,
    gflops?: number,
    detail?: string,
  ): Measurement {
    return {
      status,
      verified,
      ...(ms !== undefined ? { timing: { medianMs: ms, minMs: ms, spread: 0, reps: 1 } } : {}),
      ...(gflops !== undefined ? { gflops } : {}),
      ...(detail !== undefined ? { detail } : {}),
      buildMs: 0,
      buildCached: true,
      runMs: 0,
      compiler: REPLAYED_COMPILER,
    };
  }
}
