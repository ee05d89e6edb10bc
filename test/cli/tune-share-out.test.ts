/**
 * `colt tune --threads 2` with a database that knows the workload's one-thread best: the
 * run also starts from that schedule shared out over the two threads, measured as one of
 * its first trials, says so, and records it with the run; `--no-reuse` starts from scratch.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import { candidatesOfRun, getRun } from "../../src/db/records.ts";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-share-out-"));
const env = {
  COLT_CACHE_DIR: calibratedCacheDir("colt-share-out-cache-"),
  COLT_DB: join(dir, "colt.db"),
};
const TUNE = ["tune", "matmul", "--trials", "4", "--min-ms", "5"];
/**
 * The one-thread tune measures its first, seeded trial only (5x the unscheduled program's
 * speed, so it is the best whatever the minute): with four trials the best was the minute's
 * draw, and in one CI run a best with no serial spatial loop left to share gave nothing to
 * share out.
 */
const ONE_THREAD = ["tune", "matmul", "--trials", "1", "--min-ms", "5", "--threads", "1"];

function runOf(stderr: string): string {
  const id = /^run (\S+)/m.exec(stderr)?.[1];
  expect(id, stderr).toBeDefined();
  return id!;
}

describe("colt tune on two threads after one", () => {
  it("starts from the one-thread best shared out, measured and recorded with the run", () => {
    const one = colt(ONE_THREAD, env);
    expect(one.code, one.stderr).toBe(0);
    const two = colt([...TUNE, "--threads", "2"], env);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toMatch(/starting from the one-thread best shared out over 2 threads/);
    const db = openDb(env.COLT_DB);
    try {
      const oneBest = getRun(db, runOf(one.stderr));
      const run = getRun(db, runOf(two.stderr));
      const shared = run.settings.sharedOut;
      expect(shared).toBeTypeOf("string");
      expect(shared).toMatch(/^parallel C\./m);
      expect(oneBest.settings.sharedOut).toBeUndefined();
      const measured = candidatesOfRun(db, run.id).filter((c) => c.trace === shared);
      expect(measured).toHaveLength(1);
      expect(measured[0].model).toBe("database");
      expect(measured[0].verified).toBe(true);
    } finally {
      db.close();
    }
  }, 120_000);

  it("--no-reuse: neither the two-thread best nor the one-thread best", () => {
    const r = colt([...TUNE, "--threads", "2", "--no-reuse"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/starting from/);
    const db = openDb(env.COLT_DB);
    try {
      expect(getRun(db, runOf(r.stderr)).settings.sharedOut).toBeUndefined();
    } finally {
      db.close();
    }
  }, 60_000);
});
