/**
 * A run stopped by a real SIGINT or SIGTERM is marked `interrupted`, prints its id and the
 * exact command that resumes it, and exits 128 + the signal's number; resumed, it
 * re-measures nothing already recorded. A run that fails after it was created is marked
 * `failed`, never left `running`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { colt, startColt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-interrupt-");
const dbFile = join(cache, "tuning.db");
const env = { COLT_CACHE_DIR: cache, COLT_DB: dbFile };

function query<T>(sql: string, ...args: string[]): T[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

const statusOf = (runId: string) =>
  query<{ status: string }>("SELECT status FROM runs WHERE id = ?", runId)[0]?.status;

interface Row {
  nest_key: string;
  ms: number | null;
  pid: number;
}
const rowsOf = (runId: string) =>
  query<Row>("SELECT nest_key, ms, pid FROM candidates WHERE run_id = ?", runId);

describe("colt tune stopped by a signal", () => {
  // SIGINT: resumed with the printed line; SIGTERM: with its --out directory instead.
  for (const [signal, code, out] of [
    ["SIGINT", 130, undefined],
    ["SIGTERM", 143, join(cache, "run-dir")],
  ] as const) {
    it(`${signal}: marked interrupted, prints the resume line, resumes without re-measuring`, async () => {
      // Runs of 50 ms leave the signal time to land mid-run even when stderr reaches the test late.
      const args = ["tune", "matmul", "--trials", "12", "--min-ms", "50", "--no-reuse"];
      if (out) args.push("--out", out);
      let sent = false;
      const stopped = await startColt([...args, "--seed", "7"], env, (text, child) => {
        if (!sent && /trial 2\/12/.test(text)) {
          sent = true;
          child.kill(signal);
        }
      });
      expect(stopped.signal, stopped.stderr).toBeNull();
      expect(stopped.code, stopped.stderr).toBe(code);
      const runId = /^run (\S+)$/m.exec(stopped.stderr)![1];
      const resumeLine = `colt tune matmul --resume ${runId}`;
      expect(stopped.stderr).toContain(`colt: ${signal}: run ${runId} interrupted;`);
      expect(stopped.stderr.trimEnd().split("\n").at(-1)).toBe(
        `colt: to continue it: ${resumeLine}`,
      );
      expect(stopped.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(statusOf(runId)).toBe("interrupted");
      const before = rowsOf(runId);
      expect(before.length).toBeGreaterThanOrEqual(3);

      const listed = colt(["runs", "--workload", "matmul", "--json"], env);
      expect(JSON.parse(listed.stdout)).toContainEqual(
        expect.objectContaining({ id: runId, status: "interrupted", trialBudget: 12 }),
      );

      const resume = out ? ["tune", "matmul", "--resume", out] : resumeLine.split(" ").slice(1);
      const resumed = await startColt([...resume, "--json"], env);
      expect(resumed.code, resumed.stderr).toBe(0);
      const s = JSON.parse(resumed.stdout) as {
        run: string;
        trials: number;
        database: { fromDatabase: number; measured: number };
      };
      expect(s.run).toBe(runId);
      expect(s.trials).toBe(12);
      const after = rowsOf(runId);
      // Kept (the final round settles its finalists' times: resume.test.ts checks those).
      const keyed = ({ ms: _ms, ...r }: Row) => r;
      for (const r of before) expect(after.map(keyed)).toContainEqual(keyed(r));
      expect(s.database.fromDatabase).toBe(before.length);
      expect(s.database.measured).toBe(after.length - before.length);
      expect(statusOf(runId)).toBe("done");
    }, 240_000);
  }

  it("colt bench: SIGINT marks the run under way interrupted and stops the bench", async () => {
    const args = ["bench", "--workloads", "softmax", "--strategies", "random", "--seeds", "2"];
    let sent = false;
    const r = await startColt(
      [...args, "--trials", "6", "--min-ms", "5", "--final-rounds", "0"],
      env,
      (text, child) => {
        if (!sent && /softmax random seed 1: .* run \S+\n/.test(text)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    );
    expect(r.code, r.stderr).toBe(130);
    const [first, second] = [...r.stderr.matchAll(/run (\d{8}-\d{6}-[0-9a-f]{4})/g)].map(
      (m) => m[1],
    );
    expect(statusOf(first)).toBe("done");
    expect(r.stderr).toContain(`colt: SIGINT: run ${second} interrupted;`);
    expect(statusOf(second)).toBe("interrupted");
    expect(r.stderr).not.toContain("to continue it");
  }, 240_000);

  it("leaves no run `running` when it fails after the run was created", async () => {
    const file = join(cache, "a-file");
    writeFileSync(file, "");
    const r = await startColt(
      ["tune", "matmul", "--trials", "2", "--min-ms", "5", "--out", join(file, "out")],
      env,
    );
    expect(r.code).not.toBe(0);
    expect(query("SELECT id FROM runs WHERE status = 'running'")).toEqual([]);
  });
});
