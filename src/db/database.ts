/**
 * The tuning database: one SQLite file (WAL mode, so several `colt` processes can read
 * and write it at once) holding workloads, machine profiles, compilers, runs and every
 * measured candidate. Location: `--db FILE`, else `$COLT_DB`, else `colt.db` in the
 * cache directory.
 */
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { cacheDir } from "../measure/cache-dir.ts";
import { ensureDir } from "../util/paths.ts";
import { migrate } from "./migrate.ts";
import { SCHEMA, SCHEMA_VERSION } from "./schema.ts";

export type Db = Database.Database;

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

/** Opens (creating when absent) the database; concurrent writers wait up to 30 s. */
export function openDb(file: string = defaultDbFile()): Db {
  let db: Db;
  try {
    ensureDir(dirname(file), "its directory");
    db = new Database(file, { timeout: 30_000 });
  } catch (e) {
    throw new DatabaseError(file, e instanceof Error ? e.message : String(e));
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new DatabaseError(
        file,
        `schema version ${version} is newer than this colt (${SCHEMA_VERSION})`,
      );
    // A migration rebuilds tables that others reference, which foreign keys would forbid.
    db.pragma("foreign_keys = OFF");
    db.transaction(() => {
      const current = db.pragma("user_version", { simple: true }) as number;
      db.exec(SCHEMA);
      migrate(db, current);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
    db.pragma("foreign_keys = ON");
  } catch (e) {
    db.close();
    if (e instanceof DatabaseError) throw e;
    throw new DatabaseError(file, e instanceof Error ? e.message : String(e));
  }
  return db;
}
