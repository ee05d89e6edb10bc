/** The report shows the best's one-off prepare time beside (never inside) its time. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import {
  ensureWorkload,
  insertMeasurement,
  recordTrial,
  setBaseline,
} from "../../src/db/records.ts";
import { programHash } from "../../src/ir/hash.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import { reportData } from "../../src/report/data.ts";
import { renderReport } from "../../src/report/html.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { TEST_COMPILER, testRun } from "../support/test-db.ts";
const trace = "split C.j 16 -> jo ji\nreorder C jo k ji\nprepare B in C\nvectorize C.ji\n";

describe("report of a best that prepares weights", () => {
  it("lists prepare as a fact of its own and keeps it out of the best time", async () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), "colt-report-")), "r.db"));
    const program = instantiate("matmul", "small");
    const workloadId = ensureWorkload(db, programHash(program), "matmul", program.params);
    const runId = testRun(db, workloadId, 1, { workload: "matmul", size: "small" });
    setBaseline(db, runId, 0.5, 0.01);
    const measured: Measurement = {
      status: "ok",
      verified: true,
      timing: { medianMs: 0.02, minMs: 0.02, spread: 0, reps: 3 },
      prepareMs: 3.25,
      gflops: 26,
      buildMs: 1,
      buildCached: false,
      runMs: 1,
      compiler: TEST_COMPILER,
    };
    insertMeasurement(db, runId, "k1", trace, measured);
    recordTrial(db, runId, "k1", {
      trial: 1,
      strategy: "colt",
      trace,
      status: "ok",
      verified: true,
      ms: 0.02,
      elapsedMs: 1,
    });
    const html = await renderReport(reportData(db, runId, program));
    db.close();
    expect(html).toContain("<dt>best</dt><dd>20.0 µs = 26.2 GFLOP/s</dd>");
    expect(html).toContain(
      "<dt>prepare</dt><dd>3.250 ms once, before the timed runs (not in best)",
    );
    expect(html).toContain("void colt_prepare(");
  });
});
