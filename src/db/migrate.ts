/** Brings a database written by an older colt up to the current schema, in place. */
import type { Db } from "./database.ts";
import { LEGACY_TARGET } from "../target/targets.ts";
import { profilesTable, runsTable } from "./schema.ts";

/**
 * Called inside the transaction that creates missing tables, with foreign keys off.
 * Version 1 allowed fewer run statuses; SQLite cannot change a CHECK constraint, so the
 * runs table is rebuilt under its name (the way the SQLite manual prescribes) with every
 * row kept. Before version 4 a profile had no target and its uniqueness ignored it; the
 * table is rebuilt the same way, and its rows (and so every older run) belong to
 * `LEGACY_TARGET`, the one target COLT built for then.
 */
export function migrate(db: Db, fromVersion: number): void {
  if (fromVersion === 1)
    db.exec(`${runsTable("runs_v2")}
    INSERT INTO runs_v2 SELECT * FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;`);
  const profileColumns = db.pragma("table_info(profiles)") as { name: string }[];
  if (!profileColumns.some((c) => c.name === "target"))
    db.exec(`${profilesTable("profiles_v4")}
    INSERT INTO profiles_v4 SELECT *, '${LEGACY_TARGET}' FROM profiles;
    DROP TABLE profiles;
    ALTER TABLE profiles_v4 RENAME TO profiles;`);
  addMissingColumns(db);
}

/**
 * Columns added after a table was first released (version 3: a candidate's prepare time;
 * then whether a final round settled its time), created in older databases on open. They
 * are nullable and last, so older rows and older colt versions keep working with them.
 */
const ADDED_COLUMNS: readonly { table: string; column: string; type: string }[] = [
  { table: "candidates", column: "prepare_ms", type: "REAL" },
  { table: "candidates", column: "settled", type: "INTEGER" },
];

function addMissingColumns(db: Db): void {
  for (const { table, column, type } of ADDED_COLUMNS) {
    const columns = db.pragma(`table_info(${table})`) as { name: string }[];
    if (!columns.some((c) => c.name === column))
      db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
  }
}
