/**
 * A run whose only trial is slower than the unscheduled program (recorded in a real
 * SQLite database, as a slow first trial would be): its best is the unscheduled program
 * in `colt export`, `colt report` and `colt best`, never the slower trial.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import {
  createRun,
  ensureCompiler,
  ensureProfile,
  ensureWorkload,
  finishRun,
  insertMeasurement,
  recordTrial,
  setBaseline,
} from "../../src/db/records.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { programHash } from "../../src/ir/hash.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = calibratedCacheDir("colt-run-best-");
const env = { COLT_CACHE_DIR: dir, COLT_DB: join(dir, "colt.db") };
const compiler = { command: "cc", version: "test", flags: ["-O3"] };
const SLOW_TRACE = "split C.k 32 -> ko ki\n";

function measured(ms: number): Measurement {
  return {
    status: "ok",
    verified: true,
    timing: { medianMs: ms, minMs: ms, spread: 0, reps: 3 },
    gflops: 1 / ms,
    buildMs: 1,
    buildCached: false,
    runMs: 1,
    compiler,
  };
}

/** A finished run of matmul (small): the unscheduled program 1 ms, trial 1 12 ms. */
function recordSlowRun(): string {
  const db = openDb(env.COLT_DB);
  const program = instantiate("matmul", "small");
  const runId = createRun(db, {
    workloadId: ensureWorkload(db, programHash(program), "matmul", program.params),
    profileId: ensureProfile(db, PROFILE),
    compilerId: ensureCompiler(db, compiler),
    strategy: "random",
    seed: 1,
    threads: 1,
    settings: { workload: "matmul", size: "small", strategy: "random", seed: 1, trials: 1 },
  });
  const unscheduled = Schedule.initial(program);
  const slow = Schedule.fromTrace(program, parseTrace(SLOW_TRACE));
  const key = (s: Schedule) => printLoopNest(s.lower());
  insertMeasurement(db, runId, key(unscheduled), unscheduled.text(), measured(1));
  setBaseline(db, runId, 1, 0.01);
  insertMeasurement(db, runId, key(slow), slow.text(), measured(12));
  recordTrial(db, runId, key(slow), {
    trial: 1,
    strategy: "random",
    trace: slow.text(),
    status: "ok",
    verified: true,
    ms: 12,
    elapsedMs: 5,
  });
  finishRun(db, runId, "done");
  db.close();
  return runId;
}

describe("a run's best is never slower than the unscheduled program", () => {
  const runId = recordSlowRun();

  it("colt export writes the unscheduled kernel, not the slower trial", () => {
    const out = join(dir, "export");
    const r = colt(["export", runId, "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`from run ${runId}, 1.000 ms`);
    expect(readFileSync(join(out, "colt_matmul.sched"), "utf8")).toBe("");
    expect(readFileSync(join(out, "colt_matmul.h"), "utf8")).toContain("Measured 1.000 ms");
  });

  it("colt report shows the unscheduled program as the best, speedup 1.00x", () => {
    const file = join(dir, "report.html");
    const r = colt(["report", runId, "--out", file], env);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(file, "utf8");
    expect(html).toContain("<dt>speedup</dt><dd>1.00x</dd>");
    expect(html).toContain("(none: no trial beat the unscheduled program)");
    expect(html).not.toContain("ko ki");
  });

  it("colt best names the unscheduled program", () => {
    const r = colt(["best", "matmul"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`# run ${runId} (random), the unscheduled program`);
  });
});
