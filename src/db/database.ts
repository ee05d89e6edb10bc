/**
 * The tuning database: one SQLite file (WAL mode, so several `colt` processes can read
 * and write it at once) holding workloads, machine profiles, compilers, runs and every
 * measured candidate. Location: `--db FILE`, else `$COLT_DB`, else `colt.db` in the
 * cache directory.
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { cacheDir } from "../measure/cache-dir.ts";

export type Db = Database.Database;

export const SCHEMA_VERSION = 1;

/** A database that cannot be opened or has an unexpected schema. */
export class DatabaseError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`tuning database ${file}: ${message}`);
    this.name = "DatabaseError";
  }
}

export function defaultDbFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.COLT_DB || join(cacheDir(), "colt.db");
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS workloads (
  id INTEGER PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  shape TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS profiles (
  id INTEGER PRIMARY KEY,
  cpu_model TEXT NOT NULL,
  cores INTEGER NOT NULL,
  compiler TEXT NOT NULL,
  peak_flops_per_core REAL NOT NULL,
  bandwidth_per_core REAL NOT NULL,
  cache_bytes_per_core INTEGER NOT NULL,
  UNIQUE (cpu_model, cores, compiler)
);
CREATE TABLE IF NOT EXISTS compilers (
  id INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  version TEXT NOT NULL,
  flags TEXT NOT NULL,
  UNIQUE (command, version, flags)
);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  workload_id INTEGER NOT NULL REFERENCES workloads(id),
  profile_id INTEGER NOT NULL REFERENCES profiles(id),
  compiler_id INTEGER REFERENCES compilers(id),
  strategy TEXT NOT NULL,
  seed INTEGER NOT NULL,
  threads INTEGER NOT NULL,
  settings TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
  started_at TEXT NOT NULL,
  finished_at TEXT,
  baseline_ms REAL,
  roofline_ms REAL,
  summary TEXT,
  bench TEXT
);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id),
  nest_key TEXT NOT NULL,
  trace TEXT NOT NULL,
  status TEXT NOT NULL,
  verified INTEGER NOT NULL,
  ms REAL,
  timing TEXT,
  prepare_ms REAL,
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

/**
 * Columns added after a table was first released, created in older databases on open.
 * They are nullable, so older rows and older colt versions keep working with them.
 */
const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: "candidates", column: "prepare_ms", type: "REAL" },
];

function addMissingColumns(db: Db): void {
  for (const { table, column, type } of ADDED_COLUMNS) {
    const columns = db.pragma(`table_info(${table})`) as { name: string }[];
    if (!columns.some((c) => c.name === column))
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}

/** Opens (creating when absent) the database; concurrent writers wait up to 30 s. */
export function openDb(file: string = defaultDbFile()): Db {
  let db: Db;
  try {
    mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { timeout: 30_000 });
  } catch (e) {
    throw new DatabaseError(file, e instanceof Error ? e.message : String(e));
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new DatabaseError(
        file,
        `schema version ${version} is newer than this colt (${SCHEMA_VERSION})`,
      );
    db.transaction(() => {
      db.exec(SCHEMA);
      addMissingColumns(db);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (e) {
    db.close();
    if (e instanceof DatabaseError) throw e;
    throw new DatabaseError(file, e instanceof Error ? e.message : String(e));
  }
  return db;
}
