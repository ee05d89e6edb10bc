/**
 * Timed runs of different COLT processes on one machine take turns: a lock in the cache
 * directory, held around each run (builds stay parallel). It is SQLite's exclusive lock
 * on `measure.lock`, a POSIX record lock the kernel drops the moment its holder dies, so
 * a holder killed with SIGKILL leaves nothing stale behind and nobody has to guess.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";

export const LOCK_FILE = "measure.lock";
const POLL_MS = 20;
/** Open lock connections: a connection only the awaiting frame refers to can be garbage
 * collected while `run` waits on something unreachable, and its finalizer drops the lock. */
const held = new Set<Database.Database>();

export async function withMeasurementLock<T>(cacheDir: string, run: () => Promise<T>): Promise<T> {
  mkdirSync(cacheDir, { recursive: true });
  // timeout 0: a busy lock answers at once, and the wait below keeps the event loop free.
  const lock = new Database(join(cacheDir, LOCK_FILE), { timeout: 0 });
  held.add(lock);
  try {
    await acquire(lock);
    try {
      return await run();
    } finally {
      lock.exec("ROLLBACK");
    }
  } finally {
    held.delete(lock);
    lock.close();
  }
}

async function acquire(lock: Database.Database): Promise<void> {
  for (;;) {
    try {
      lock.exec("BEGIN EXCLUSIVE");
      return;
    } catch (e) {
      if (!(e instanceof Database.SqliteError && e.code === "SQLITE_BUSY")) throw e;
    }
    await sleep(POLL_MS);
  }
}
