/**
 * Directories and files the user names (`--out`, `--schedule`, COLT_CACHE_DIR): created,
 * read and written so that every failure is one PathError naming the option and the path.
 */
import { mkdirSync, rmSync, statSync, writeFileSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** A path that cannot be used for what the user gave it for. */
export class PathError extends Error {
  constructor(
    /** What the path is for, as the user knows it: "--out", "COLT_CACHE_DIR", ... */
    readonly role: string,
    readonly path: string,
    readonly problem: string,
    readonly remedy: string,
  ) {
    super(`${role} ${path}: ${problem}; ${remedy}`);
    this.name = "PathError";
  }
}

function errnoOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/** stat, or undefined where nothing exists; a parent that is a file is a PathError. */
function statOrNone(path: string, role: string, given: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    const code = errnoOf(e);
    const problem =
      code === "ENOTDIR"
        ? "a part of the path is not a directory"
        : `cannot look at ${path} (${code})`;
    throw new PathError(role, given, problem, DIR_REMEDY);
  }
}

const DIR_REMEDY = "give a directory you can write to";

/**
 * Creates `dir` and its missing parents, one mkdir each, and checks a file can be written
 * in it. Node's `mkdirSync(…, { recursive: true })` spins forever where a parent exists
 * but mkdir below it fails with ENOENT (procfs, e.g. /proc/x): it takes ENOENT for a
 * missing parent and retries. Here every directory is tried once, so it always ends.
 */
export function ensureDir(dir: string, role: string): void {
  const target = resolve(dir);
  const missing: string[] = [];
  let probe = target;
  for (;;) {
    const stats = statOrNone(probe, role, dir);
    if (stats) {
      if (!stats.isDirectory())
        throw new PathError(
          role,
          dir,
          probe === target ? "exists and is not a directory" : `${probe} is not a directory`,
          DIR_REMEDY,
        );
      break;
    }
    missing.unshift(probe);
    probe = dirname(probe);
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (e) {
      // Another process may have created it in between: that is fine.
      if (statOrNone(path, role, dir)?.isDirectory()) continue;
      throw new PathError(role, dir, `cannot create directory ${path} (${errnoOf(e)})`, DIR_REMEDY);
    }
  }
  const probeFile = join(target, `.colt-write-probe-${process.pid}`);
  try {
    writeFileSync(probeFile, "");
  } catch (e) {
    throw new PathError(role, dir, `cannot write files in it (${errnoOf(e)})`, DIR_REMEDY);
  }
  rmSync(probeFile, { force: true });
}

/** Writes a whole file; failures (a directory there, no permission, ...) are PathErrors. */
export function writeFileAt(file: string, data: string | Uint8Array, role: string): void {
  try {
    writeFileSync(file, data);
  } catch (e) {
    const code = errnoOf(e);
    const problem =
      code === "EISDIR"
        ? "is a directory"
        : code === "ENOENT" || code === "ENOTDIR"
          ? `its directory ${dirname(file)} does not exist`
          : `cannot be written (${code})`;
    throw new PathError(role, file, problem, "give a file path you can write to");
  }
}

/** Checks that `file` is an existing regular file before it is read. */
export function requireFile(file: string, role: string): void {
  let stats: Stats | undefined;
  try {
    stats = statSync(file, { throwIfNoEntry: false });
  } catch (e) {
    throw new PathError(role, file, `cannot be read (${errnoOf(e)})`, "give an existing file");
  }
  if (!stats) throw new PathError(role, file, "does not exist", "give an existing file");
  if (!stats.isFile())
    throw new PathError(
      role,
      file,
      stats.isDirectory() ? "is a directory" : "is not a regular file",
      "give a file",
    );
}
