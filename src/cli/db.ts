/** The tuning database as the CLI opens it: `--db FILE`, else `$COLT_DB`, else the cache. */
import { openDb, defaultDbFile, type Db } from "../db/database.ts";
import { findRun, type RunRow } from "../db/records.ts";

export const DB_OPTION = [
  "--db <file>",
  "tuning database (default: $COLT_DB, else colt.db in the cache directory)",
] as const;

export function openCliDb(file: string | undefined): Db {
  return openDb(file ?? defaultDbFile());
}

/** Runs the callback with the database open, closing it afterwards. */
export async function withDb<T>(
  file: string | undefined,
  f: (db: Db) => T | Promise<T>,
): Promise<T> {
  const db = openCliDb(file);
  try {
    return await f(db);
  } finally {
    db.close();
  }
}

export function isRunId(db: Db, text: string): RunRow | undefined {
  return findRun(db, text);
}
