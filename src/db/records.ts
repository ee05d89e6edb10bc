/** Reading and writing tuning records: workloads, profiles, compilers, runs, candidates. */
import { randomBytes } from "node:crypto";
import type { Measurement } from "../measure/engine.ts";
import type { MachineProfile } from "../measure/profile.ts";
import type { SettledTime } from "../measure/runner.ts";
import type { TimingSummary } from "../measure/stats.ts";
import type { TrialRecord } from "../search/trials.ts";
import type { Db } from "./database.ts";
import { LEGACY_TARGET } from "../target/targets.ts";
import type { RunStatus } from "./schema.ts";

export interface CompilerInfo {
  readonly command: string;
  readonly version: string;
  readonly flags: readonly string[];
}

export interface RunRow {
  readonly id: string;
  readonly workloadId: number;
  readonly workload: string;
  readonly profileId: number;
  /** The target its kernels were built for (its profile's). */
  readonly target: string;
  readonly compilerId: number | null;
  readonly strategy: string;
  readonly seed: number;
  readonly threads: number;
  /** The settings the run was started with (the CLI's RunSettings). */
  readonly settings: Record<string, unknown>;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly baselineMs: number | null;
  readonly rooflineMs: number | null;
  readonly summary: Record<string, unknown> | null;
  readonly bench: string | null;
}

export interface CandidateRow {
  readonly runId: string;
  readonly nestKey: string;
  readonly trace: string;
  readonly status: Measurement["status"];
  readonly verified: boolean;
  readonly ms: number | null;
  /** One-off weight preparation time (prepare), kept apart from `ms`. */
  readonly prepareMs: number | null;
  readonly gflops: number | null;
  readonly trial: number | null;
  readonly model: string | null;
  readonly detail: string | null;
  readonly measuredAt: string;
  readonly pid: number;
}

export class RunNotFoundError extends Error {
  constructor(readonly runId: string) {
    super(`no run '${runId}' in the tuning database (see 'colt best' or 'colt runs')`);
    this.name = "RunNotFoundError";
  }
}

const now = () => new Date().toISOString();

export function ensureWorkload(
  db: Db,
  hash: string,
  name: string,
  shape: Readonly<Record<string, number>>,
): number {
  db.prepare(
    "INSERT INTO workloads (hash, name, shape) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  ).run(hash, name, JSON.stringify(shape));
  return (db.prepare("SELECT id FROM workloads WHERE hash = ?").get(hash) as { id: number }).id;
}

export function findWorkload(db: Db, hash: string): number | undefined {
  const row = db.prepare("SELECT id FROM workloads WHERE hash = ?").get(hash) as
    { id: number } | undefined;
  return row?.id;
}

export function ensureProfile(db: Db, p: MachineProfile): number {
  const target = p.target ?? LEGACY_TARGET;
  db.prepare(
    `INSERT INTO profiles (cpu_model, cores, compiler, peak_flops_per_core, bandwidth_per_core, cache_bytes_per_core, target)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(
    p.cpuModel,
    p.cores,
    p.compiler,
    p.peakFlopsPerCore,
    p.bandwidthPerCore,
    p.cacheBytesPerCore,
    target,
  );
  return (
    db
      .prepare(
        "SELECT id FROM profiles WHERE cpu_model = ? AND cores = ? AND compiler = ? AND target = ?",
      )
      .get(p.cpuModel, p.cores, p.compiler, target) as { id: number }
  ).id;
}

export function ensureCompiler(db: Db, c: CompilerInfo): number {
  const flags = c.flags.join(" ");
  db.prepare(
    "INSERT INTO compilers (command, version, flags) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  ).run(c.command, c.version, flags);
  return (
    db
      .prepare("SELECT id FROM compilers WHERE command = ? AND version = ? AND flags = ?")
      .get(c.command, c.version, flags) as { id: number }
  ).id;
}

export interface NewRun {
  readonly workloadId: number;
  readonly profileId: number;
  readonly compilerId: number | null;
  readonly strategy: string;
  readonly seed: number;
  readonly threads: number;
  readonly settings: object;
  readonly bench?: string;
}

/** A new run id: start time plus a random suffix, e.g. 20261126-070541-3fa2. */
export function newRunId(date = new Date()): string {
  const stamp = date.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${randomBytes(2).toString("hex")}`;
}

export function createRun(db: Db, r: NewRun): string {
  const id = newRunId();
  db.prepare(
    `INSERT INTO runs (id, workload_id, profile_id, compiler_id, strategy, seed, threads, settings, status, started_at, bench)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)`,
  ).run(
    id,
    r.workloadId,
    r.profileId,
    r.compilerId,
    r.strategy,
    r.seed,
    r.threads,
    JSON.stringify(r.settings),
    now(),
    r.bench ?? null,
  );
  return id;
}

interface RawRun {
  id: string;
  workload_id: number;
  name: string;
  profile_id: number;
  target: string;
  compiler_id: number | null;
  strategy: string;
  seed: number;
  threads: number;
  settings: string;
  status: RunRow["status"];
  started_at: string;
  finished_at: string | null;
  baseline_ms: number | null;
  roofline_ms: number | null;
  summary: string | null;
  bench: string | null;
}

function toRun(r: RawRun): RunRow {
  return {
    id: r.id,
    workloadId: r.workload_id,
    workload: r.name,
    profileId: r.profile_id,
    target: r.target,
    compilerId: r.compiler_id,
    strategy: r.strategy,
    seed: r.seed,
    threads: r.threads,
    settings: JSON.parse(r.settings) as Record<string, unknown>,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    baselineMs: r.baseline_ms,
    rooflineMs: r.roofline_ms,
    summary: r.summary ? (JSON.parse(r.summary) as Record<string, unknown>) : null,
    bench: r.bench,
  };
}

const RUN_SELECT =
  "SELECT runs.*, workloads.name AS name, profiles.target AS target FROM runs " +
  "JOIN workloads ON workloads.id = runs.workload_id JOIN profiles ON profiles.id = runs.profile_id";

export function findRun(db: Db, id: string): RunRow | undefined {
  const r = db.prepare(`${RUN_SELECT} WHERE runs.id = ?`).get(id) as RawRun | undefined;
  return r && toRun(r);
}

export function getRun(db: Db, id: string): RunRow {
  const r = findRun(db, id);
  if (!r) throw new RunNotFoundError(id);
  return r;
}

export function runsOfBench(db: Db, bench: string): RunRow[] {
  return (
    db.prepare(`${RUN_SELECT} WHERE runs.bench = ? ORDER BY runs.rowid`).all(bench) as RawRun[]
  ).map(toRun);
}

export function markRunning(db: Db, id: string): void {
  db.prepare("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?").run(id);
}

export function setBaseline(db: Db, id: string, baselineMs: number, rooflineMs: number): void {
  db.prepare("UPDATE runs SET baseline_ms = ?, roofline_ms = ? WHERE id = ?").run(
    baselineMs,
    rooflineMs,
    id,
  );
}

export function finishRun(
  db: Db,
  id: string,
  status: Exclude<RunStatus, "running">,
  summary?: object,
): void {
  db.prepare("UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?").run(
    status,
    now(),
    summary ? JSON.stringify(summary) : null,
    id,
  );
}

interface RawCandidate {
  run_id: string;
  nest_key: string;
  trace: string;
  status: Measurement["status"];
  verified: number;
  ms: number | null;
  timing: string | null;
  prepare_ms: number | null;
  gflops: number | null;
  rel_error: number | null;
  detail: string | null;
  build_ms: number;
  run_ms: number;
  trial: number | null;
  model: string | null;
  measured_at: string;
  pid: number;
}

function toCandidate(r: RawCandidate): CandidateRow {
  return {
    runId: r.run_id,
    nestKey: r.nest_key,
    trace: r.trace,
    status: r.status,
    verified: r.verified === 1,
    ms: r.ms,
    prepareMs: r.prepare_ms,
    gflops: r.gflops,
    trial: r.trial,
    model: r.model,
    detail: r.detail,
    measuredAt: r.measured_at,
    pid: r.pid,
  };
}

/** The measurement of this loop nest recorded for the run, as the engine reported it. */
export function findMeasurement(
  db: Db,
  runId: string,
  nestKey: string,
  compiler: CompilerInfo,
): Measurement | undefined {
  const r = db
    .prepare("SELECT * FROM candidates WHERE run_id = ? AND nest_key = ?")
    .get(runId, nestKey) as RawCandidate | undefined;
  if (!r) return undefined;
  return {
    status: r.status,
    verified: r.verified === 1,
    ...(r.rel_error !== null ? { error: r.rel_error } : {}),
    ...(r.timing !== null ? { timing: JSON.parse(r.timing) as TimingSummary } : {}),
    ...(r.prepare_ms !== null ? { prepareMs: r.prepare_ms } : {}),
    ...(r.gflops !== null ? { gflops: r.gflops } : {}),
    buildMs: r.build_ms,
    buildCached: true,
    runMs: r.run_ms,
    ...(r.detail !== null ? { detail: r.detail } : {}),
    compiler,
  };
}

/** Records a measurement the moment it is made (before the search sees it). */
export function insertMeasurement(
  db: Db,
  runId: string,
  nestKey: string,
  trace: string,
  m: Measurement,
): void {
  db.prepare(
    `INSERT INTO candidates (run_id, nest_key, trace, status, verified, ms, timing, prepare_ms, gflops, rel_error, detail, build_ms, run_ms, measured_at, pid)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  ).run(
    runId,
    nestKey,
    trace,
    m.status,
    m.verified ? 1 : 0,
    m.verified ? (m.timing?.medianMs ?? null) : null,
    m.timing ? JSON.stringify(m.timing) : null,
    m.prepareMs ?? null,
    m.gflops ?? null,
    m.error ?? null,
    m.detail ?? null,
    m.buildMs,
    m.runMs,
    now(),
    process.pid,
  );
}

/**
 * A tune's final round settled the candidate's time: the median over all its measurements
 * replaces the recorded one (speed scaled with it), so the run's best and `colt best` rank
 * on it; the first measurement stays in `timing`, which a resumed run replays. A candidate
 * that failed when measured again is no longer verified.
 */
export function settleCandidate(
  db: Db,
  runId: string,
  nestKey: string,
  outcome: SettledTime,
): void {
  if ("failure" in outcome) {
    db.prepare(
      `UPDATE candidates SET verified = 0, ms = NULL, detail = ? WHERE run_id = ? AND nest_key = ?`,
    ).run(`failed when measured again: ${outcome.failure}`, runId, nestKey);
    return;
  }
  // SQLite evaluates every right-hand side on the row as it was: gflops scales by old/new.
  db.prepare(
    `UPDATE candidates SET gflops = gflops * ms / ?, ms = ?, settled = 1
     WHERE run_id = ? AND nest_key = ?`,
  ).run(outcome.ms, outcome.ms, runId, nestKey);
}

/** Adds what the search knows about a measured candidate: its trial number and model. */
export function recordTrial(db: Db, runId: string, nestKey: string, t: TrialRecord): void {
  db.prepare(
    `UPDATE candidates SET trial = ?, model = ?, predicted_ms = ?, elapsed_ms = ?
     WHERE run_id = ? AND nest_key = ?`,
  ).run(t.trial, t.model ?? null, t.predictedMs ?? null, t.elapsedMs, runId, nestKey);
}

export function candidatesOfRun(db: Db, runId: string): CandidateRow[] {
  return (
    db
      .prepare("SELECT * FROM candidates WHERE run_id = ? ORDER BY trial IS NULL DESC, trial, id")
      .all(runId) as RawCandidate[]
  ).map(toCandidate);
}

export interface BestQuery {
  readonly workloadId: number;
  readonly profileId?: number;
  readonly compilerId?: number;
  readonly threads?: number;
  /** Only records of this target: another target's kernels are never reused. */
  readonly target?: string;
  readonly excludeRun?: string;
}

/** The fastest verified candidate recorded for a workload (optionally: machine, compiler, threads). */
export function bestCandidate(db: Db, q: BestQuery): (CandidateRow & { run: RunRow }) | undefined {
  const where = ["runs.workload_id = ?", "candidates.verified = 1", SETTLED_WHERE_SETTLING];
  const args: (string | number)[] = [q.workloadId];
  const filters: [string, string | number | undefined][] = [
    ["runs.profile_id = ?", q.profileId],
    ["runs.compiler_id = ?", q.compilerId],
    ["runs.threads = ?", q.threads],
    ["profiles.target = ?", q.target],
    ["runs.id <> ?", q.excludeRun],
  ];
  for (const [clause, value] of filters) {
    if (value === undefined) continue;
    where.push(clause);
    args.push(value);
  }
  const r = db
    .prepare(
      `SELECT candidates.* FROM candidates JOIN runs ON runs.id = candidates.run_id
       JOIN profiles ON profiles.id = runs.profile_id
       WHERE ${where.join(" AND ")} ORDER BY candidates.ms LIMIT 1`,
    )
    .get(...args) as RawCandidate | undefined;
  if (!r) return undefined;
  return { ...toCandidate(r), run: getRun(db, r.run_id) };
}

/**
 * Candidates that can be their run's best: verified, and where a final round settled times,
 * the settled ones (the others' single times were measured in another phase of a drifting
 * machine: a round in a slow minute would hand the run to the fastest trial it left out).
 */
const SETTLED_WHERE_SETTLING = `(candidates.settled = 1 OR candidates.trace = '' OR NOT EXISTS
  (SELECT 1 FROM candidates AS finalist WHERE finalist.run_id = candidates.run_id AND finalist.settled = 1))`;

/** Candidates of a run that can be its best: verified trials and the baseline (trace ''). */
export const RUN_BEST_CANDIDATES = `verified = 1 AND (trial IS NOT NULL OR trace = '') AND ${SETTLED_WHERE_SETTLING}`;

/**
 * The run's best: the fastest verified candidate among its trials and the unscheduled
 * program it measured as its baseline (trace ''), so never slower than the baseline.
 */
export function bestOfRun(db: Db, runId: string): CandidateRow | undefined {
  const r = db
    .prepare(
      `SELECT * FROM candidates WHERE run_id = ? AND ${RUN_BEST_CANDIDATES}
       ORDER BY ms, trial IS NOT NULL LIMIT 1`,
    )
    .get(runId) as RawCandidate | undefined;
  return r && toCandidate(r);
}

export function insertExpansion(db: Db, runId: string, iteration: number, event: object): void {
  db.prepare(
    "INSERT INTO expansions (run_id, iteration, event) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  ).run(runId, iteration, JSON.stringify(event));
}

export function expansionsOfRun<T>(db: Db, runId: string): T[] {
  return (
    db
      .prepare("SELECT event FROM expansions WHERE run_id = ? ORDER BY iteration, rowid")
      .all(runId) as { event: string }[]
  ).map((r) => JSON.parse(r.event) as T);
}
