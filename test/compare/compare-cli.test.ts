/** `colt compare` end to end: the real CLI, ONNX Runtime, C compiler and tuning database. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { HIDE_ORT } from "../support/hide-ort.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-compare-");
const env = { COLT_CACHE_DIR: cache, COLT_DB: join(cache, "colt.db") };
const BIN = fileURLToPath(new URL("../../bin/colt.js", import.meta.url));

interface Side {
  medianMs: number;
  minMs: number;
  spread: number;
  reps: number;
  gflops: number;
  error: number;
}

interface ComparisonJson {
  workload: string;
  threads: number;
  colt: Side;
  ort: Side & { version: string };
  openblas: Side | null;
  ratio: number;
  roundRatios: number[];
  minRatio: number;
  schedule: { source: string; run: string | null; trace: string };
}

describe("colt compare", () => {
  it("times a schedule file against ONNX Runtime and prints JSON with the ratio", () => {
    const r = colt(
      [
        "compare",
        "matmul",
        "--schedule",
        "examples/schedules/matmul-small.sched",
        "--min-ms",
        "20",
        "--rounds",
        "1",
        "--json",
      ],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as ComparisonJson;
    expect(c).toMatchObject({ workload: "matmul", threads: 1 });
    expect(c.schedule.source).toBe("file examples/schedules/matmul-small.sched");
    expect(c.schedule.trace).not.toBe("");
    for (const side of [c.colt, c.ort]) {
      expect(side.medianMs).toBeGreaterThan(0);
      expect(side.reps).toBeGreaterThanOrEqual(3);
      expect(side.error).toBeLessThanOrEqual(1e-4);
    }
    expect(c.ort.version).toMatch(/^1\.30\./);
    expect(c.ratio).toBeCloseTo(c.ort.medianMs / c.colt.medianMs, 6);
    expect(c.roundRatios).toEqual([c.ratio]);
    expect(c.minRatio).toBeCloseTo(c.ort.minMs / c.colt.minMs, 6);
  });

  it("alternates the sides in rounds and gives the median of the rounds' ratios", () => {
    const args = ["compare", "matmul", "--schedule", "examples/schedules/matmul-small.sched"];
    const r = colt([...args, "--min-ms", "30", "--rounds", "3", "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as ComparisonJson;
    expect(c.roundRatios).toHaveLength(3);
    expect(c.ratio).toBe([...c.roundRatios].sort((a, b) => a - b)[1]);
    for (const side of [c.colt, c.ort]) {
      expect(side.reps).toBeGreaterThanOrEqual(3 * 3);
      expect(side.minMs).toBeGreaterThan(0);
      expect(side.minMs).toBeLessThanOrEqual(side.medianMs);
    }
    const text = colt([...args, "--min-ms", "30", "--rounds", "2"], env);
    expect(text.stdout).toMatch(/median of 2 alternating rounds: \d+\.\d\dx \d+\.\d\dx\)/);
    expect(text.stdout).toMatch(
      /^ {2}fastest +\d+\.\d\dx \(ORT's fastest repetition \/ COLT's\)$/m,
    );
    const bad = colt([...args, "--rounds", "0"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
    expect(bad.stderr).toContain("--rounds");
  });

  it("compares a run's best schedule, on the run's shape, and prints both times", () => {
    const tuned = colt(
      ["tune", "softmax", "--shape", "rows=9,cols=21", "--trials", "3", "--min-ms", "5", "--json"],
      env,
    );
    expect(tuned.code).toBe(0);
    const runId = (JSON.parse(tuned.stdout) as { run: string }).run;
    const r = colt(["compare", "softmax", "--run", runId, "--min-ms", "20"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("softmax (rows=9, cols=21)");
    expect(r.stdout).toContain(`run ${runId} trial`);
    expect(r.stdout).toMatch(
      /^ {2}ONNX Runtime .* GFLOP\/s {2}1\.30\.\d+, CPU provider; output verified/m,
    );
    expect(r.stdout).toMatch(/^ {2}COLT \/ ORT +\d+\.\d\dx/m);
  });

  it("says how to install ONNX Runtime when it is not installed", () => {
    const r = spawnSync(process.execPath, ["--import", HIDE_ORT, BIN, "compare", "matmul"], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^colt: ONNX Runtime is not installed; run 'npm install onnxruntime-node'/,
    );
    expect(lines[0]).toContain("onnxruntime-node-install=skip");
  });
});
