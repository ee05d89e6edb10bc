import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/db/database.ts";
import {
  bestCandidate,
  bestOfRun,
  candidatesOfRun,
  createRun,
  ensureCompiler,
  ensureProfile,
  ensureWorkload,
  findMeasurement,
  finishRun,
  getRun,
  insertMeasurement,
  recordTrial,
  settleCandidate,
} from "../../src/db/records.ts";
import { RecordingEngine } from "../../src/db/recording-engine.ts";
import { SCHEMA_VERSION } from "../../src/db/schema.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { TEST_COMPILER, TEST_PROFILE } from "../support/test-db.ts";

const profile = TEST_PROFILE;
const compiler = TEST_COMPILER;

function fakeEngine() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    measure(s: Schedule): Promise<Measurement> {
      calls++;
      const ms = 1 + s.text().length / 1000;
      return Promise.resolve({
        status: "ok",
        verified: true,
        timing: { medianMs: ms, minMs: ms, spread: 0, reps: 3 },
        gflops: 1 / ms,
        buildMs: 1,
        buildCached: false,
        runMs: 1,
        compiler,
      });
    },
  };
}

describe("tuning database", () => {
  it("creates the schema in WAL mode and records runs and candidates", async () => {
    const db = openDb(join(mkdtempSync(join(tmpdir(), "colt-db-")), "sub", "t.db"));
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const program = instantiate("matmul", "small", {});
    const workloadId = ensureWorkload(db, "h1", "matmul", program.params);
    expect(ensureWorkload(db, "h1", "matmul", program.params)).toBe(workloadId);
    const runId = createRun(db, {
      workloadId,
      profileId: ensureProfile(db, profile),
      compilerId: ensureCompiler(db, compiler),
      strategy: "colt",
      seed: 1,
      threads: 1,
      settings: { workload: "matmul" },
    });
    expect(getRun(db, runId)).toMatchObject({ workload: "matmul", status: "running" });
    const inner = fakeEngine();
    const engine = new RecordingEngine(db, runId, inner, compiler);
    const a = Schedule.initial(program);
    const b = Schedule.fromTrace(program, parseTrace("split C.i 8 -> io ii"));
    const first = await engine.measureAll([a, b]);
    // Asked again (same loop nest): answered from the database, not measured.
    const again = await engine.measureAll([a, b]);
    expect(inner.calls).toBe(2);
    expect(engine.fromDb).toBe(2);
    expect(again).toEqual(first.map((m) => ({ ...m, buildCached: true })));
    engine.recordTrial({
      trial: 1,
      strategy: "colt",
      model: "m",
      trace: b.text(),
      status: "ok",
      verified: true,
      elapsedMs: 3,
    });
    const rows = candidatesOfRun(db, runId);
    expect(rows.map((r) => [r.trial, r.model])).toEqual([
      [null, null],
      [1, "m"],
    ]);
    expect(bestCandidate(db, { workloadId })?.trace).toBe(a.text());
    expect(bestCandidate(db, { workloadId, excludeRun: runId })).toBeUndefined();
    db.close();
  });

  it("brings a version-1 database up to date, keeping its runs, so a run can be interrupted", () => {
    const file = join(mkdtempSync(join(tmpdir(), "colt-db-")), "v1.db");
    const old = new Database(file);
    old.exec(`
      CREATE TABLE workloads (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, shape TEXT NOT NULL);
      CREATE TABLE runs (
        id TEXT PRIMARY KEY, workload_id INTEGER NOT NULL REFERENCES workloads(id),
        profile_id INTEGER NOT NULL REFERENCES profiles(id), compiler_id INTEGER, strategy TEXT NOT NULL,
        seed INTEGER NOT NULL, threads INTEGER NOT NULL, settings TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        started_at TEXT NOT NULL, finished_at TEXT, baseline_ms REAL, roofline_ms REAL,
        summary TEXT, bench TEXT);
      INSERT INTO workloads VALUES (1, 'h', 'matmul', '{}');
      CREATE TABLE profiles (id INTEGER PRIMARY KEY, cpu_model TEXT NOT NULL, cores INTEGER NOT NULL,
        compiler TEXT NOT NULL, peak_flops_per_core REAL NOT NULL, bandwidth_per_core REAL NOT NULL,
        cache_bytes_per_core INTEGER NOT NULL, UNIQUE (cpu_model, cores, compiler));
      INSERT INTO profiles VALUES (1, 'cpu', 2, 'cc', 1, 1, 1);
      INSERT INTO runs (id, workload_id, profile_id, strategy, seed, threads, settings, status, started_at)
        VALUES ('old-run', 1, 1, 'colt', 1, 1, '{}', 'done', '2026-01-01');
      PRAGMA user_version = 1;`);
    old.close();
    const db = openDb(file);
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(getRun(db, "old-run")).toMatchObject({ workload: "matmul", status: "done" });
    finishRun(db, "old-run", "interrupted");
    expect(getRun(db, "old-run").status).toBe("interrupted");
    expect(db.pragma("foreign_key_check")).toEqual([]);
    db.close();
    // Opening it again migrates nothing twice.
    expect(getRun(openDb(file), "old-run").status).toBe("interrupted");
  });

  it("adds the prepare and settled columns to an older database, whose rows keep reading", () => {
    const file = join(mkdtempSync(join(tmpdir(), "colt-db-")), "old.db");
    const old = openDb(file);
    // The database as colt wrote it before prepare and the settled flag existed.
    old.exec("ALTER TABLE candidates DROP COLUMN prepare_ms");
    old.exec("ALTER TABLE candidates DROP COLUMN settled");
    const program = instantiate("matmul", "small", {});
    const workloadId = ensureWorkload(old, "h1", "matmul", program.params);
    const runId = createRun(old, {
      workloadId,
      profileId: ensureProfile(old, profile),
      compilerId: ensureCompiler(old, compiler),
      strategy: "colt",
      seed: 1,
      threads: 1,
      settings: { workload: "matmul" },
    });
    old
      .prepare(
        `INSERT INTO candidates (run_id, nest_key, trace, status, verified, ms, build_ms, run_ms, measured_at, pid)
         VALUES (?, 'old', '', 'ok', 1, 2.0, 1, 1, 'then', 1)`,
      )
      .run(runId);
    old.close();
    const db = openDb(file);
    const measured: Measurement = {
      status: "ok",
      verified: true,
      timing: { medianMs: 1, minMs: 1, spread: 0, reps: 3 },
      prepareMs: 7.5,
      buildMs: 1,
      buildCached: false,
      runMs: 1,
      compiler,
    };
    insertMeasurement(db, runId, "new", "prepare B in C\n", measured);
    recordTrial(db, runId, "new", {
      trial: 1,
      strategy: "colt",
      trace: "prepare B in C\n",
      status: "ok",
      verified: true,
      elapsedMs: 1,
    });
    expect(candidatesOfRun(db, runId).map((r) => [r.nestKey, r.ms, r.prepareMs])).toEqual([
      ["old", 2, null],
      ["new", 1, 7.5],
    ]);
    expect(findMeasurement(db, runId, "new", compiler)?.prepareMs).toBe(7.5);
    expect(bestOfRun(db, runId)?.prepareMs).toBe(7.5);
    // A final round's settled time, flagged in the added column.
    settleCandidate(db, runId, "new", { ms: 1.5 });
    expect(bestOfRun(db, runId)?.ms).toBe(1.5);
    db.close();
  });

  it("names the file when it cannot be opened", () => {
    const file = join(mkdtempSync(join(tmpdir(), "colt-db-")), "plain-file");
    writeFileSync(file, "");
    expect(() => openDb(join(file, "x.db"))).toThrow(/^tuning database .*plain-file\/x\.db: /);
  });
  it("keeps each target's records apart, and gives a version-3 database's records to x86-avx512", () => {
    const file = join(mkdtempSync(join(tmpdir(), "colt-db-")), "v3.db");
    const old = new Database(file);
    // The profiles table as colt wrote it before targets (schema 3), with one run on it.
    old.exec(`
      CREATE TABLE profiles (id INTEGER PRIMARY KEY, cpu_model TEXT NOT NULL, cores INTEGER NOT NULL,
        compiler TEXT NOT NULL, peak_flops_per_core REAL NOT NULL, bandwidth_per_core REAL NOT NULL,
        cache_bytes_per_core INTEGER NOT NULL, UNIQUE (cpu_model, cores, compiler));
      INSERT INTO profiles VALUES (1, 'test cpu', 2, 'cc 1', 1e11, 1e10, 1048576);
      PRAGMA user_version = 3;`);
    old.close();
    const db = openDb(file);
    const workloadId = ensureWorkload(db, "h", "matmul", {});
    const compilerId = ensureCompiler(db, compiler);
    const runOn = (profileId: number, ms: number) => {
      const runId = createRun(db, {
        workloadId,
        profileId,
        compilerId,
        strategy: "colt",
        seed: 1,
        threads: 1,
        settings: {},
      });
      insertMeasurement(db, runId, `k${ms}`, `split C.i 4 -> a b${ms}\n`, {
        status: "ok",
        verified: true,
        timing: { medianMs: ms, minMs: ms, spread: 0, reps: 3 },
        buildMs: 1,
        buildCached: false,
        runMs: 1,
        compiler,
      });
      return runId;
    };
    // The old profile (no target) is the one an x86-avx512 profile of the same machine finds.
    const legacy = runOn(ensureProfile(db, { ...profile, target: "x86-avx512" }), 2);
    expect(ensureProfile(db, { ...profile, target: "x86-avx512" })).toBe(1);
    const avx2 = runOn(ensureProfile(db, { ...profile, target: "x86-avx2" }), 1);
    expect(getRun(db, legacy).target).toBe("x86-avx512");
    expect(getRun(db, avx2).target).toBe("x86-avx2");
    // The faster record is x86-avx2's: never the answer for x86-avx512, or for NEON.
    expect(bestCandidate(db, { workloadId, target: "x86-avx512" })?.runId).toBe(legacy);
    expect(bestCandidate(db, { workloadId, target: "x86-avx2" })?.runId).toBe(avx2);
    expect(bestCandidate(db, { workloadId, target: "aarch64-neon" })).toBeUndefined();
    db.close();
  });
});
