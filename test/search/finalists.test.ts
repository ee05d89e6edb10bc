/** The final round of a tune: the fastest trials measured again, the best chosen on their medians. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
} from "../../src/db/records.ts";
import { RecordingEngine } from "../../src/db/recording-engine.ts";
import { listRuns } from "../../src/db/run-list.ts";
import type { Measurement } from "../../src/measure/engine.ts";
import { ReplayedMeasurements, type RecordedRun } from "../../src/cli/recorded-run.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { tune, type TuneOptions } from "../../src/search/tune.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { PROFILE } from "../costmodel/support.ts";
import { ObjectiveCostModel, okMeasurement } from "../support/fakes.ts";

const compiler = { command: "fake", version: "fake", flags: [] };

/**
 * A machine whose speed drifts: each program's n-th measurement takes `times(trace)[n]`
 * (the last entry repeated); `fails` scripts a kernel that verifies once and not again.
 */
function driftingEngine(times: (trace: string) => readonly number[], fails = new Set<string>()) {
  const count = new Map<string, number>();
  const measure = (s: Schedule): Promise<Measurement> => {
    const trace = s.text();
    const n = count.get(trace) ?? 0;
    count.set(trace, n + 1);
    const base = { buildMs: 1, buildCached: false, runMs: 1, compiler };
    if (n > 0 && fails.has(trace))
      return Promise.resolve({ ...base, status: "crash", verified: false, detail: "SIGSEGV" });
    const series = times(trace);
    return Promise.resolve(okMeasurement(series[Math.min(n, series.length - 1)]));
  };
  return {
    count,
    measure,
    measureAll: (ss: readonly Schedule[]) => Promise.all(ss.map(measure)),
  };
}

/** Trial k (in order of first measurement) is the k-th distinct trace the search measures. */
function options(engine: TuneOptions["engine"], finalists?: TuneOptions["finalists"]) {
  return {
    program: instantiate("matmul", "small"),
    strategy: "random" as const,
    seed: 3,
    budget: { trials: 6 },
    engine,
    profile: PROFILE,
    threads: 1,
    proposers: [],
    costModel: new ObjectiveCostModel(() => 1),
    ...(finalists ? { finalists } : {}),
  };
}

/** A tuning database with one run of matmul small started in it. */
function recordedRun() {
  const db = openDb(join(mkdtempSync(join(tmpdir(), "colt-final-")), "t.db"));
  const workloadId = ensureWorkload(db, "h", "matmul", instantiate("matmul", "small").params);
  const runId = createRun(db, {
    workloadId,
    profileId: ensureProfile(db, PROFILE),
    compilerId: ensureCompiler(db, compiler),
    strategy: "random",
    seed: 3,
    threads: 1,
    settings: { workload: "matmul" },
  });
  return { db, runId, workloadId };
}

describe("final round", () => {
  it("chooses the best on the finalists' medians, not on a lucky first measurement", async () => {
    // The program measured first is lucky once (1 ms), then takes 5 ms; every other
    // program takes 2 ms plus a little per step, every time. The unscheduled one: 100 ms.
    let lucky: string | undefined;
    const times = (trace: string) => {
      if (trace === "") return [100];
      lucky ??= trace;
      return trace === lucky ? [1, 5, 5] : [2 + trace.length / 1e4];
    };
    const plain = await tune(options(driftingEngine(times)));
    expect(plain.best.trial).toBe(1);
    expect(plain.best.ms).toBe(1);
    expect(plain.finalists).toEqual([]);

    lucky = undefined;
    const engine = driftingEngine(times);
    const r = await tune(options(engine, { count: 3, rounds: 2 }));
    expect(r.finalists).toHaveLength(3);
    const first = r.finalists.find((f) => f.trial === 1)!;
    expect([first.inRunMs, ...first.againMs]).toEqual([1, 5, 5]);
    expect(first.ms).toBe(5);
    expect(r.best.trial).not.toBe(1);
    expect(r.best.ms).toBeLessThan(2.1);
    expect(r.best.schedule.text()).toBe(r.trials[r.best.trial - 1].trace);
    // Each finalist measured twice more: 1 + 2 measurements, in turns.
    for (const f of r.finalists) expect(engine.count.get(f.schedule.text())).toBe(3);
    // The trial log keeps what the search measured.
    expect(r.trials[0].ms).toBe(1);
  });

  it("leaves out a finalist that fails when measured again", async () => {
    let first: string | undefined;
    const fails = new Set<string>();
    const times = (trace: string) => {
      if (trace === "") return [100];
      if (first === undefined) {
        first = trace;
        fails.add(trace);
      }
      return trace === first ? [1] : [2 + trace.length / 1e4];
    };
    const r = await tune(options(driftingEngine(times, fails), { count: 2, rounds: 1 }));
    const failed = r.finalists.find((f) => f.trial === 1)!;
    expect(failed.failure).toEqual({ status: "crash", detail: "SIGSEGV" });
    expect(failed.ms).toBe(Infinity);
    expect(r.best.trial).not.toBe(1);
  });

  it("keeps the settled times in the tuning database, which ranks the run's best on them", async () => {
    const { db, runId } = recordedRun();
    let lucky: string | undefined;
    const times = (trace: string) => {
      if (trace === "") return [100];
      lucky ??= trace;
      return trace === lucky ? [1, 5, 5] : [2 + trace.length / 1e4];
    };
    const recording = new RecordingEngine(db, runId, driftingEngine(times), compiler);
    const r = await tune({
      ...options(recording, { count: 3, rounds: 2 }),
      onTrial: (t) => recording.recordTrial(t),
    });
    const rows = candidatesOfRun(db, runId);
    const luckyRow = rows.find((c) => c.trial === 1)!;
    expect(luckyRow.ms).toBe(5);
    expect(luckyRow.gflops).toBeCloseTo(1 / 5, 9);
    expect(bestOfRun(db, runId)?.trial).toBe(r.best.trial);
    expect(bestOfRun(db, runId)?.ms).toBe(r.best.ms);
  });
});

describe("final round in a slow minute", () => {
  it("keeps the race among its finalists: the trials it left out stay out, in the database too", async () => {
    const { db, runId, workloadId } = recordedRun();
    // Every program measures about 2 ms in the search, then 5 ms once the machine slows.
    const times = (trace: string) => (trace === "" ? [100] : [2 + trace.length / 1e4, 5, 5]);
    const recording = new RecordingEngine(db, runId, driftingEngine(times), compiler);
    const r = await tune({
      ...options(recording, { count: 2, rounds: 2 }),
      onTrial: (t) => recording.recordTrial(t),
    });
    const finalists = r.finalists.map((f) => f.trial);
    expect(finalists).toHaveLength(2);
    expect(finalists).toContain(r.best.trial);
    expect(r.best.ms).toBe(5);
    expect(bestOfRun(db, runId)?.trial).toBe(r.best.trial);
    expect(listRuns(db)[0].bestMs).toBe(5);
    expect(bestCandidate(db, { workloadId })?.trial).toBe(r.best.trial);
  });
});

describe("final round replayed", () => {
  it("answers from the recorded round, its failure included, and says when a replay diverges", async () => {
    const program = instantiate("matmul", "small");
    const a = Schedule.fromTrace(program, parseTrace("split C.i 8 -> io ii"));
    const b = Schedule.fromTrace(program, parseTrace("split C.j 8 -> jo ji"));
    const trial = (n: number, s: Schedule) => ({
      trial: n,
      strategy: "random",
      trace: s.text(),
      status: "ok" as const,
      verified: true,
      ms: n,
      elapsedMs: 0,
    });
    const replay = new ReplayedMeasurements({
      ...({} as RecordedRun),
      baselineMs: 9,
      trials: [trial(1, a), trial(2, b)],
      finalists: [
        { trial: 1, againMs: [3, 4] },
        { trial: 2, againMs: [], failure: { status: "crash", detail: "SIGSEGV" } },
      ],
    });
    expect((await replay.measureAgain(a)).timing?.medianMs).toBe(3);
    expect((await replay.measureAgain(a)).timing?.medianMs).toBe(4);
    await expect(replay.measureAgain(a)).rejects.toThrow(/did not measure this trace 3 times/);
    expect(await replay.measureAgain(b)).toMatchObject({
      status: "crash",
      verified: false,
      detail: "SIGSEGV",
    });
  });
});
