/**
 * The tuning database through the real CLI: a run killed with SIGKILL and resumed keeps
 * every finished measurement and repeats none; two processes write one database at once;
 * a new run reuses the best known schedule; `colt best` prints it.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { colt, startColt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-resume-");
const dbFile = join(cache, "tuning.db");
const env = { COLT_CACHE_DIR: cache, COLT_DB: dbFile };

interface Row {
  nest_key: string;
  trial: number | null;
  ms: number | null;
  measured_at: string;
  pid: number;
}

function rows(runId: string): Row[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db
      .prepare("SELECT nest_key, trial, ms, measured_at, pid FROM candidates WHERE run_id = ?")
      .all(runId) as Row[];
  } finally {
    db.close();
  }
}

/** Starts `colt` with this file's database, resolves with its output when it exits. */
function start(args: readonly string[], onStderr?: (text: string, kill: () => void) => void) {
  return startColt(args, env, (text, child) => onStderr?.(text, () => child.kill("SIGKILL")));
}

describe("tuning database through colt", () => {
  it("resumes a run killed with SIGKILL: finished measurements kept, none repeated", async () => {
    const args = ["tune", "matmul", "--trials", "14", "--min-ms", "5", "--seed", "5", "--no-reuse"];
    const killed = await start(args, (text, kill) => {
      if (/trial 5\/14/.test(text)) kill();
    });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const runId = /run (\S+)/.exec(killed.stderr)![1];
    const before = rows(runId);
    // The baseline and at least five trials were recorded before the kill, not all 14.
    expect(before.filter((r) => r.trial !== null).length).toBeGreaterThanOrEqual(5);
    expect(before.filter((r) => r.trial !== null).length).toBeLessThan(14);

    const resumed = await start(["tune", "matmul", "--resume", runId, "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = JSON.parse(resumed.stdout) as {
      run: string;
      trials: number;
      database: { fromDatabase: number; measured: number };
      finalists: { trial: number; ms: number }[];
    };
    expect(s.run).toBe(runId);
    expect(s.trials).toBe(14);
    const after = rows(runId);
    // Every measurement made before the kill is still there, unchanged but for the time
    // of the final round's finalists, which is their settled one...
    const settled = new Map(s.finalists.map((f) => [f.trial, f.ms]));
    expect(settled.size).toBeGreaterThan(1);
    for (const r of after.filter((a) => settled.has(a.trial!)))
      expect(r.ms).toBe(settled.get(r.trial!));
    const strip = ({ trial: _t, ms: _ms, ...r }: Row) => r;
    for (const r of before) expect(after.map(strip)).toContainEqual(strip(r));
    for (const r of before.filter((b) => b.trial !== null && !settled.has(b.trial)))
      expect(after).toContainEqual(r);
    // ...was answered from the database (every one of them was asked for again)...
    expect(s.database.fromDatabase).toBe(before.length);
    // ...and the resumed process measured only what was missing.
    expect(s.database.measured).toBe(after.length - before.length);
    expect(
      after
        .filter((r) => !before.some((b) => b.nest_key === r.nest_key))
        .every((r) => r.pid !== before[0].pid),
    ).toBe(true);
    const trials = after
      .map((r) => r.trial)
      .filter((t) => t !== null)
      .sort((a, b) => a - b);
    expect(trials).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare("SELECT status FROM runs WHERE id = ?").get(runId)).toEqual({
      status: "done",
    });
    db.close();
  });

  it("lets two processes write one database at once", async () => {
    const runs = await Promise.all(
      [11, 12].map((seed) =>
        start([
          "tune",
          "softmax",
          "--trials",
          "8",
          "--min-ms",
          "5",
          "--seed",
          String(seed),
          "--json",
          "--no-reuse",
        ]),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const ids = runs.map((r) => (JSON.parse(r.stdout) as { run: string }).run);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(rows(id).filter((r) => r.trial !== null)).toHaveLength(8);
    const db = new Database(dbFile, { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });

  it("starts a new run from the best known schedule and prints it with colt best", () => {
    const best = colt(["best", "softmax", "--json"], env);
    expect(best.code, best.stderr).toBe(0);
    const known = JSON.parse(best.stdout) as { trace: string; ms: number };
    const r = colt(["tune", "softmax", "--trials", "3", "--min-ms", "5", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { run: string };
    const first = rows(s.run).find((x) => x.trial === 1);
    expect(first).toBeDefined();
    const db = new Database(dbFile, { readonly: true });
    expect(
      db.prepare("SELECT model, trace FROM candidates WHERE run_id = ? AND trial = 1").get(s.run),
    ).toEqual({ model: "database", trace: known.trace });
    db.close();
    // The new run may have found something faster: the best never gets worse.
    const after = JSON.parse(colt(["best", "softmax", "--json"], env).stdout) as {
      trace: string;
      ms: number;
    };
    expect(after.ms).toBeLessThanOrEqual(known.ms);
    const text = colt(["best", "softmax"], env);
    expect(text.stdout).toContain(after.trace.trimEnd());
    expect(colt(["best", "layernorm"], env).stderr.trim()).toMatch(
      /^colt: no verified schedule of layernorm .* in the tuning database yet/,
    );
  });
});
