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
  if (fromVersion !== 1) return;
  db.exec(`${runsTable("runs_v2")}
    INSERT INTO runs_v2 SELECT * FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;`);
}
