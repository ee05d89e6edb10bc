/** Where COLT keeps binaries, references and the machine profile. */
import { homedir } from "node:os";
import { join } from "node:path";

export function cacheDir(): string {
  if (process.env.COLT_CACHE_DIR) return process.env.COLT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "colt");
}
