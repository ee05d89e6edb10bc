/**
 * The runs as `colt runs` lists them: trials within the budget counted apart from the
 * final round's sharing twin, measured past it (a full run reads 64/64, not 65/64).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import { ensureWorkload, insertMeasurement, recordTrial } from "../../src/db/records.ts";
import { listRuns } from "../../src/db/run-list.ts";
import { SHARING_TWIN_SOURCE } from "../../src/search/trials.ts";
import { TEST_COMPILER, testRun } from "../support/test-db.ts";

describe("listRuns", () => {
  it("counts the sharing twin apart from the budget's trials", () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), "colt-run-list-")), "t.db"));
    const runId = testRun(db, ensureWorkload(db, "h", "matmul", { M: 8 }), 2, { trials: 2 });
    const models = ["offline-random", "offline-expert", SHARING_TWIN_SOURCE];
    models.forEach((model, n) => {
      const key = `k${n}`;
      insertMeasurement(db, runId, key, `parallel C.i${n}\n`, {
        status: "ok",
        verified: true,
        timing: { medianMs: 2 - n / 4, minMs: 1, spread: 0, reps: 3 },
        buildMs: 1,
        buildCached: false,
        runMs: 1,
        compiler: TEST_COMPILER,
      });
      recordTrial(db, runId, key, {
        trial: n + 1,
        strategy: "colt",
        model,
        trace: "",
        status: "ok",
        verified: true,
        elapsedMs: n,
      });
    });
    expect(listRuns(db)[0]).toMatchObject({ trials: 2, extraTrials: 1, trialBudget: 2 });
    db.close();
  });
});
