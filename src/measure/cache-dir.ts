/** Where COLT keeps binaries, references and the machine profile. */
import { homedir } from "node:os";
import { join } from "node:path";
import { ensureDir } from "../util/paths.ts";

export function cacheDir(): string {
  if (process.env.COLT_CACHE_DIR) return process.env.COLT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "colt");
}

/** The cache directory, created and checked writable; failures name where it came from. */
export function ensureCacheDir(): string {
  const dir = cacheDir();
  ensureDir(dir, process.env.COLT_CACHE_DIR ? "COLT_CACHE_DIR" : "cache directory");
  return dir;
}
