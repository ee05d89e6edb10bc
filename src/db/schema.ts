/** The tuning database's tables (see database.ts), by schema version. */

/**
 * 2: runs may be `interrupted` (a signal stopped them; `colt tune --resume` continues).
 * 4: a profile belongs to a target; a run's records belong to its profile's target.
 */
export const SCHEMA_VERSION = 4;

/** The profiles table; `migrate.ts` rebuilds an older one (no target) with it. */
export function profilesTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  id INTEGER PRIMARY KEY,
  cpu_model TEXT NOT NULL,
  cores INTEGER NOT NULL,
  compiler TEXT NOT NULL,
  peak_flops_per_core REAL NOT NULL,
  bandwidth_per_core REAL NOT NULL,
  cache_bytes_per_core INTEGER NOT NULL,
  target TEXT NOT NULL,
  UNIQUE (cpu_model, cores, compiler, target)
);
`;
}

export const RUN_STATUSES = ["running", "done", "failed", "interrupted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The runs table; `migrate.ts` rebuilds a version-1 table (fewer statuses) with it. */
export function runsTable(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
  id TEXT PRIMARY KEY,
  workload_id INTEGER NOT NULL REFERENCES workloads(id),
  profile_id INTEGER NOT NULL REFERENCES profiles(id),
  compiler_id INTEGER REFERENCES compilers(id),
  strategy TEXT NOT NULL,
  seed INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  settings TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN (${RUN_STATUSES.map((s) => `'${s}'`).join(", ")})),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  baseline_ms REAL,
  roofline_ms REAL,
  summary TEXT,
  bench TEXT
);
`;
}

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS workloads (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  shape TEXT NOT NULL
);
${profilesTable("profiles")}CREATE TABLE IF NOT EXISTS compilers (
  id INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  version TEXT NOT NULL,
  flags TEXT NOT NULL,
  UNIQUE (command, version, flags)
);
${runsTable("runs")}CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id),
  nest_key TEXT NOT NULL,
  trace TEXT NOT NULL,
  status TEXT NOT NULL,
  verified INTEGER NOT NULL,
  ms REAL,
  timing TEXT,
  gflops REAL,
  rel_error REAL,
  detail TEXT,
  build_ms REAL NOT NULL,
  run_ms REAL NOT NULL,
  trial INTEGER,
  model TEXT,
  predicted_ms REAL,
  elapsed_ms REAL,
  measured_at TEXT NOT NULL,
  pid INTEGER NOT NULL,
  prepare_ms REAL,
  settled INTEGER,
  UNIQUE (run_id, nest_key)
);
CREATE INDEX IF NOT EXISTS candidates_best ON candidates (verified, ms);
CREATE TABLE IF NOT EXISTS expansions (
  run_id TEXT NOT NULL REFERENCES runs(id),
  iteration INTEGER NOT NULL,
  event TEXT NOT NULL,
  PRIMARY KEY (run_id, iteration, event)
);
`;
