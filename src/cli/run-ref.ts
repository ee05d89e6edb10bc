/**
 * A run named on the command line: its id, or the directory `colt tune --out` wrote for
 * it (its run.json names the run from the start; summary.json, of older directories,
 * once the run finished).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../db/database.ts";
import { findRun, RunNotFoundError, type RunRow } from "../db/records.ts";
import { UsageError } from "./errors.ts";
import { RUN_FILE } from "./recorded-run.ts";

/** The run of an id or run directory; undefined when `text` is neither an id nor a directory. */
export function findRunByRef(db: Db, text: string): RunRow | undefined {
  const run = findRun(db, text);
  if (run || !isDirectory(text)) return run;
  const id = runIdOfDirectory(text);
  const fromDir = findRun(db, id);
  if (!fromDir)
    throw new UsageError(
      `${text}: its run ${id} is not in this tuning database (another --db? see 'colt runs')`,
    );
  return fromDir;
}

/** The run of an id or run directory, or a RunNotFoundError. */
export function getRunByRef(db: Db, text: string): RunRow {
  const run = findRunByRef(db, text);
  if (!run) throw new RunNotFoundError(text);
  return run;
}

export function isDirectory(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function runIdOfDirectory(dir: string): string {
  for (const file of [RUN_FILE, "summary.json"]) {
    const path = join(dir, file);
    if (!existsSync(path)) continue;
    let content: unknown;
    try {
      content = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
    }
    const run = (content as { run?: unknown } | null)?.run;
    if (typeof run === "string") return run;
  }
  throw new UsageError(
    `${dir} names no run: no run id in its ${RUN_FILE} or summary.json (is it a 'colt tune --out' directory of a recorded run?)`,
  );
}
