/** `colt bench` through the real CLI, and the help of every command. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";
import { buildCli } from "../../src/cli/main.ts";

const cache = calibratedCacheDir("colt-bench-");
const env = { COLT_CACHE_DIR: cache };
const COMMANDS = [
  "workloads",
  "show",
  "measure",
  "tune",
  "best",
  "runs",
  "export",
  "report",
  "bench",
];

describe("colt bench", () => {
  it("runs strategies side by side and writes a table and a combined report", () => {
    const out = join(cache, "bench");
    const r = colt(
      [
        "bench",
        "--workloads",
        "matmul",
        "--strategies",
        "colt,random",
        "--seeds",
        "1",
        "--trials",
        "4",
        "--min-ms",
        "5",
        "--final-rounds",
        "1",
        "--final-min-ms",
        "5",
        "--json",
        "--out",
        out,
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { rows: Record<string, unknown>[] };
    expect(s.rows.map((x) => [x.workload, x.strategy, x.seeds])).toEqual([
      ["matmul", "colt", 1],
      ["matmul", "random", 1],
    ]);
    for (const row of s.rows)
      for (const k of [
        ...["bestMs", "bestMsIqr", "speedup", "gflops", "peakFraction", "trialsTo90", "calls"],
        "wallMs",
      ])
        expect(row).toHaveProperty(k);
    expect(Object.keys(s.rows[0].calls as object)).toContain("offline-expert");
    // Bests re-measured side by side with the unscheduled program: one time for every row.
    const [coltRow, randomRow] = s.rows as {
      bestMs: number;
      speedup: number;
      unscheduledMs: number;
      largestShare: number | null;
      proposerCost: number | null;
      calls: Record<string, number>;
    }[];
    expect(coltRow.unscheduledMs).toBeGreaterThan(0);
    expect(randomRow.unscheduledMs).toBe(coltRow.unscheduledMs);
    for (const row of [coltRow, randomRow])
      expect(row.speedup).toBeCloseTo(row.unscheduledMs / row.bestMs, 6);
    expect(coltRow.largestShare).toBeGreaterThan(0);
    expect(coltRow.largestShare).toBeLessThanOrEqual(1);
    expect(randomRow.largestShare).toBeNull();
    // Proposer cost in calls of the largest model: each call weighs size / 70B (one seed, so no median).
    const sizes: Record<string, number> = {
      "offline-random": 0.5 / 70,
      "offline-expert": 8 / 70,
      "offline-lookahead": 1,
    };
    const expectedCost = Object.entries(coltRow.calls).reduce((n, [m, c]) => n + c * sizes[m], 0);
    expect(coltRow.proposerCost).toBeCloseTo(expectedCost, 6);
    expect(coltRow.proposerCost).toBeLessThan(
      Object.values(coltRow.calls).reduce((n, c) => n + c, 0),
    );
    expect(randomRow.proposerCost).toBeNull();
    const text = readFileSync(join(out, "bench.txt"), "utf8");
    expect(text).toMatch(/trials to 90%/);
    expect(text).toMatch(/proposer cost/);
    expect(text).toMatch(
      /re-measured side by side with the unscheduled program \(1 round\(s\) of >= 5 ms\)/,
    );
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain('data-chart="convergence"');
    // Quality against proposer cost: one point per run.
    expect(html).toContain('<figure data-chart="quality-cost" data-points="2">');
    expect(html).toContain("colt (seed 1)");
    expect(html).toContain("random (seed 1)");
    expect(existsSync(join(out, "bench.json"))).toBe(true);
  });

  it("rejects an unknown strategy in one line", () => {
    const r = colt(["bench", "--strategies", "colt,greedy"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "colt: unknown strategy 'greedy' (strategies: colt, mcts, random, evolutionary, beam, mcts-equal-calls)",
    );
  });

  it("runs MCTS at COLT's largest-model calls, and refuses it without colt before it", () => {
    const db = join(cache, "equal-calls.db");
    const refused = colt(["bench", "--strategies", "mcts,mcts-equal-calls", "--db", db], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      "colt: mcts-equal-calls takes its call budget from the colt run of the same seed: list colt before it in the strategies",
    );
    // Refused before anything ran: not even the database was opened.
    expect(existsSync(db)).toBe(false);
    const r = colt(
      [
        ...["bench", "--workloads", "matmul", "--strategies", "colt,mcts-equal-calls"],
        ...["--seeds", "1", "--trials", "4", "--min-ms", "5", "--final-rounds", "0"],
        ...["--json", "--db", db, "--out", join(cache, "equal-calls")],
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { rows: { strategy: string; calls: object }[] }).rows;
    expect(rows.map((x) => x.strategy)).toEqual(["colt", "mcts-equal-calls"]);
    const [coltRow, equal] = rows as { calls: Record<string, number> }[];
    expect(Object.keys(equal.calls)).toEqual(["offline-lookahead"]);
    expect(equal.calls["offline-lookahead"]).toBeLessThanOrEqual(
      coltRow.calls["offline-lookahead"],
    );
  });
});

describe("colt --help", () => {
  it("lists every command, and every command's help describes its arguments and options", () => {
    const top = colt(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${c}\\b.*\\S`, "m"));
    // Each command's help as `colt <command> --help` prints it, built in this process (a
    // process per command took 16 s).
    const commands = buildCli().commands;
    for (const c of COMMANDS) {
      const help = commands.find((x) => x.name() === c)?.helpInformation() ?? "";
      expect(help, c).toContain(`Usage: colt ${c}`);
      expect(help, c).toContain("-h, --help");
      // Every option has a description.
      const options = help
        .split("Options:")[1]
        .split("\n")
        .filter((l) => /^\s+-/.test(l));
      for (const o of options) expect(o.trim(), `${c}: ${o}`).toMatch(/^\S.*\s{2,}\S/);
    }
    const tune = colt(["tune", "--help"]);
    expect(tune.code).toBe(0);
    expect(tune.stdout).toMatch(/--db <file>[\s\S]*--resume <run>[\s\S]*--no-reuse/);
  });
});
