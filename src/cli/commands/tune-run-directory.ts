/**
 * The `--out` directory of `colt tune`: the settings, profile and bucket written before the
 * search (what `--replay` needs), the summary, trials, best schedule and its C after it.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { generateC } from "../../codegen/generate.ts";
import { emitKernel } from "../../codegen/c-kernel.ts";
import type { MachineProfile } from "../../measure/profile.ts";
import type { Bucket } from "../../models/bucket.ts";
import { RECORDS_FILE } from "../../models/llm/records.ts";
import type { TuneResult } from "../../search/tune.ts";
import { ensureDir, writeFileAt } from "../../util/paths.ts";
import { BUCKET_FILE, PROFILE_FILE, RUN_FILE, type RunSettings } from "../recorded-run.ts";
import type { Summary } from "./tune-summary.ts";

/**
 * Created before the search starts, so LLM records are appended as they happen: the
 * settings, the machine profile the cost model uses and the bucket (no keys), which is
 * what --replay needs besides the records and the trial log.
 */
export function startRunDirectory(
  dir: string,
  settings: RunSettings,
  profile: MachineProfile,
  bucket: Bucket | undefined,
  runId: string | undefined,
): void {
  ensureDir(dir, "--out");
  const write = (file: string, text: string) => writeFileAt(join(dir, file), text, "--out");
  // The run's id lets report, export and --resume take the directory for the run.
  const run = runId !== undefined ? { run: runId } : {};
  write(RUN_FILE, JSON.stringify({ ...settings, ...run }, null, 2) + "\n");
  write(PROFILE_FILE, JSON.stringify(profile, null, 2) + "\n");
  if (bucket) {
    write(BUCKET_FILE, JSON.stringify(bucket, null, 2) + "\n");
    write(RECORDS_FILE, "");
  } else {
    // A directory reused for an offline run must not look like a replayable LLM run.
    for (const f of [BUCKET_FILE, RECORDS_FILE]) rmSync(join(dir, f), { force: true });
  }
}

/** The results, after the search: summary, trial and expansion logs, the best schedule and its C. */
export function writeRunDirectory(dir: string, r: TuneResult, summary: Summary): void {
  ensureDir(dir, "--out");
  const write = (file: string, text: string) => writeFileAt(join(dir, file), text, "--out");
  write("summary.json", JSON.stringify(summary, null, 2) + "\n");
  write("trials.jsonl", r.trials.map((t) => JSON.stringify(t)).join("\n") + "\n");
  write("expansions.jsonl", r.expansions.map((e) => JSON.stringify(e) + "\n").join(""));
  write("best.sched", r.best.schedule.text());
  write("best-kernel.c", emitKernel(r.best.schedule.lower()).code);
  write("best-with-harness.c", generateC(r.best.schedule.lower()).source);
}
