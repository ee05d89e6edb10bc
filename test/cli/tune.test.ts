import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { STRATEGIES, STRATEGY_REGISTRY } from "../../src/search/strategies.ts";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-tune-");
const env = { COLT_CACHE_DIR: cache };

describe("colt tune", () => {
  it("runs COLT with the offline bucket and writes the run directory", () => {
    const out = join(cache, "run");
    const r = colt(
      ["tune", "matmul", "--trials", "10", "--min-ms", "5", "--json", "--out", out],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown> & {
      models: Record<string, unknown>[];
    };
    expect(s).toMatchObject({
      workload: "matmul",
      size: "small",
      strategy: "colt",
      seed: 1,
      verified: true,
    });
    expect(s.trials).toBe(10);
    expect(s.bestMs).toBeGreaterThan(0);
    expect(s.speedup).toBeGreaterThan(1);
    expect(s.gflops).toBeGreaterThan(0);
    expect(s.bestTrace).toMatch(/\S/);
    expect(s.models.map((m) => m.name)).toEqual([
      "offline-random",
      "offline-expert",
      "offline-lookahead",
    ]);
    for (const m of s.models) {
      expect(m).toHaveProperty("calls");
      expect(m).toHaveProperty("hits");
      expect(m).toHaveProperty("errors");
      expect(m).toHaveProperty("courseAlterations");
      expect(m.kind).toBe("offline");
    }
    const trials = readFileSync(join(out, "trials.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(trials).toHaveLength(10);
    expect(trials[0]).toMatchObject({ trial: 1, strategy: "colt" });
    const expansions = readFileSync(join(out, "expansions.jsonl"), "utf8");
    expect(expansions.endsWith("}\n")).toBe(true);
    const lines = expansions.slice(0, -1).split("\n");
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty("model");
    expect(readFileSync(join(out, "best.sched"), "utf8")).toBe(s.bestTrace);
    expect(readFileSync(join(out, "best-kernel.c"), "utf8")).toContain("void colt_kernel(");
    expect(existsSync(join(out, "best-with-harness.c"))).toBe(true);
  });

  it("runs a baseline strategy with the same budget and prints a summary", () => {
    const r = colt(
      ["tune", "softmax", "--strategy", "random", "--trials", "6", "--min-ms", "5", "--seed", "3"],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("softmax (rows=30, cols=77) random, seed 3, 6 trials");
    expect(r.stdout).toMatch(/speedup\s+\d/);
    expect(r.stderr).toContain("trial 6/6");
  });

  it("measures the fastest trials again at the end and chooses the best on their medians", () => {
    const args = ["tune", "matmul", "--strategy", "random", "--trials", "6", "--min-ms", "5"];
    const r = colt([...args, "--finalists", "3", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      bestMs: number;
      bestTrial: number;
      finalists: { trial: number; inRunMs: number; againMs: number[]; ms: number }[];
    };
    expect(s.finalists).toHaveLength(3);
    for (const f of s.finalists) {
      expect(f.againMs).toHaveLength(2);
      const sorted = [f.inRunMs, ...f.againMs].sort((a, b) => a - b);
      expect(f.ms).toBe(sorted[1]);
    }
    // The best is a finalist on its settled time, or a trial whose one time beats them all.
    const settled = Math.min(...s.finalists.map((f) => f.ms));
    expect(s.bestMs).toBeLessThanOrEqual(settled);
    const text = colt([...args, "--finalists", "2"], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/finalists trial \d+ [\d.]+ [mu]s \(/);
    const none = colt([...args, "--finalists", "0", "--json"], env);
    expect(JSON.parse(none.stdout).finalists).toEqual([]);
  });

  it("rejects an unknown strategy with the list of strategies", () => {
    const r = colt(["tune", "matmul", "--strategy", "greedy"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "colt: unknown strategy 'greedy' (strategies: colt, mcts, random, evolutionary, beam)",
    );
  });

  it("describes every strategy of the registry in its --strategy help", () => {
    const r = colt(["tune", "--help"], env);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, " ");
    for (const name of STRATEGIES)
      expect(help).toContain(`${name} (${STRATEGY_REGISTRY[name].description})`);
  });
});
