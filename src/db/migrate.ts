/** Brings a database written by an older colt up to the current schema, in place. */
import type { Db } from "./database.ts";
import { runsTable } from "./schema.ts";

/**
 * Called inside the transaction that creates missing tables, with foreign keys off.
 * Version 1 allowed fewer run statuses; SQLite cannot change a CHECK constraint, so the
 * runs table is rebuilt under its name (the way the SQLite manual prescribes) with every
 * row kept.
 */
export function migrate(db: Db, fromVersion: number): void {
  if (fromVersion === 1)
    db.exec(`${runsTable("runs_v2")}
    INSERT INTO runs_v2 SELECT * FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;`);
  addMissingColumns(db);
}

/**
 * Columns added after a table was first released (version 3: a candidate's prepare time),
 * created in older databases on open. They are nullable and last, so older rows and older
 * colt versions keep working with them.
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
