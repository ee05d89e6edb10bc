import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-accounting-");
const env = { COLT_CACHE_DIR: cache, COLT_DB: join(cache, "colt.db") };

interface Summary {
  proposerCost: number | null;
  models: { calls: number; size: number }[];
  elapsedMs: number;
  wallMs: Record<"total" | "measuring" | "building" | "proposing" | "other", number>;
}

function tuneJson(args: readonly string[]): Summary {
  const r = colt(["tune", ...args, "--min-ms", "5", "--no-reuse", "--json"], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Summary;
}

describe("colt tune: proposer cost and where the wall time went", () => {
  it("reports the proposer cost as calls weighted by size over the largest, and the wall time by phase", () => {
    const s = tuneJson(["matmul", "--trials", "8"]);
    const largest = Math.max(...s.models.map((m) => m.size));
    const weighted = s.models.reduce((n, m) => n + (m.calls * m.size) / largest, 0);
    expect(s.proposerCost).toBeGreaterThan(0);
    expect(s.proposerCost).toBeCloseTo(weighted, 9);
    const { total, measuring, building, proposing, other } = s.wallMs;
    for (const part of [measuring, building, proposing, other]) expect(part).toBeGreaterThan(0);
    expect(measuring + building + proposing + other).toBeLessThanOrEqual(total + 1e-6);
    // The baseline is measured before the search's own clock (elapsedMs) starts.
    expect(total).toBeGreaterThanOrEqual(s.elapsedMs);
  });

  it("has no proposer cost or proposing time without proposers, and prints both lines", () => {
    const s = tuneJson(["softmax", "--strategy", "random", "--trials", "4"]);
    expect(s.proposerCost).toBeNull();
    expect(s.wallMs.proposing).toBe(0);
    expect(s.wallMs.measuring).toBeGreaterThan(0);
    const text = colt(["tune", "matmul", "--trials", "4", "--min-ms", "5", "--quiet"], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}proposer cost \d+\.\d \(calls weighted by model size/m);
    expect(text.stdout).toMatch(
      /^ {2}wall {6}\d+\.\d s: measuring \d+\.\d s, building \d+\.\d s, proposing \d+\.\d s, other \d+\.\d s$/m,
    );
  });
});
