/**
 * `colt runs` lists the recorded runs (text and JSON, all or one workload's), and
 * `colt report`, `colt export` and `colt tune --resume` take the directory a run wrote
 * with `--out` in place of its id.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-runs-");
const env = { COLT_CACHE_DIR: cache, COLT_DB: join(cache, "tuning.db") };
const runDir = join(cache, "matmul-run");

interface Listed {
  id: string;
  workload: string;
  shape: Record<string, number>;
  strategy: string;
  status: string;
  trials: number;
  trialBudget: number;
  bestMs: number;
  baselineMs: number;
  startedAt: string;
}

function tuned(args: string[]): { run: string; bestMs: number } {
  const r = colt(["tune", ...args, "--trials", "2", "--min-ms", "5", "--json"], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { run: string; bestMs: number };
}

describe("colt runs and run directories", () => {
  let matmul: { run: string; bestMs: number };
  let softmax: { run: string; bestMs: number };
  beforeAll(() => {
    expect(colt(["runs"], env).stdout).toBe("no runs in the tuning database yet\n");
    matmul = tuned(["matmul", "--strategy", "random", "--out", runDir]);
    softmax = tuned(["softmax", "--shape", "rows=8,cols=40"]);
  });

  it("lists every run as JSON, oldest first, or one workload's", () => {
    const all = JSON.parse(colt(["runs", "--json"], env).stdout) as Listed[];
    expect(all.map((r) => r.id)).toEqual([matmul.run, softmax.run]);
    expect(all[0]).toMatchObject({
      workload: "matmul",
      shape: { M: 64, N: 64, K: 64 },
      strategy: "random",
      status: "done",
      trials: 2,
      trialBudget: 2,
      bestMs: matmul.bestMs,
    });
    expect(all[1]).toMatchObject({ workload: "softmax", shape: { rows: 8, cols: 40 } });
    const one = JSON.parse(colt(["runs", "--workload", "softmax", "--json"], env).stdout);
    expect((one as Listed[]).map((r) => r.id)).toEqual([softmax.run]);
  });

  it("prints a table with a header and one line per run", () => {
    const lines = colt(["runs"], env).stdout.trimEnd().split("\n");
    expect(lines[0].split(/\s+/)).toEqual([
      "id",
      "workload",
      "shape",
      "strategy",
      "status",
      "trials",
      "best",
      "started",
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${matmul.run}\\s+matmul\\s+M=64,N=64,K=64\\s+random seed 1\\s+done\\s+2/2\\s+\\S+ us \\(\\d+\\.\\d\\dx\\)\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`,
      ),
    );
    const unknown = colt(["runs", "--workload", "nope"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^colt: unknown workload 'nope'/);
  });

  it("colt report takes the run directory", () => {
    const file = join(cache, "from-dir.html");
    const r = colt(["report", runDir, "--out", file], env);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toContain(`<dt>run</dt><dd>${matmul.run}</dd>`);
  });

  it("colt export takes the run directory", () => {
    const out = join(cache, "exported");
    const r = colt(["export", runDir, "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`from run ${matmul.run}`);
    expect(existsSync(join(out, "colt_matmul.c"))).toBe(true);
  });

  it("colt tune --resume takes the run directory and measures nothing again", () => {
    const r = colt(["tune", "matmul", "--resume", runDir, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { run: string; database: { measured: number } };
    expect(s.run).toBe(matmul.run);
    expect(s.database.measured).toBe(0);
  });

  it("refuses a directory that names no run, in one line", () => {
    const r = colt(["report", cache], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `colt: ${cache} names no run: no run id in its run.json or summary.json (is it a 'colt tune --out' directory of a recorded run?)\n`,
    );
  });
});
