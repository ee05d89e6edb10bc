/**
 * The cores a worker runs kernels on. Workers on one machine take disjoint cores: each
 * claims its cores with a file per core in the shared cache directory, holding its pid;
 * a claim whose process is gone is free again.
 */
import { cpus } from "node:os";
import { CoresError } from "../measure/cpu-list.ts";
import { join } from "node:path";
import { openSync, closeSync, readFileSync, rmSync, writeSync } from "node:fs";
import { ensureDir } from "../util/paths.ts";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid holding a claim on `core`, when that process still runs. */
function holder(dir: string, core: number): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, `${core}.pid`), "utf8"));
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid !== process.pid && alive(pid) ? pid : undefined;
}

function claimOne(dir: string, core: number): boolean {
  if (holder(dir, core) !== undefined) return false;
  const file = join(dir, `${core}.pid`);
  rmSync(file, { force: true });
  let fd: number;
  try {
    fd = openSync(file, "wx");
  } catch (e) {
    // Another worker claimed it between our check and our create.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  writeSync(fd, String(process.pid));
  closeSync(fd);
  return true;
}

export interface CoreClaim {
  readonly cores: readonly number[];
  /** The cores as a taskset list. */
  readonly list: string;
  release(): void;
}

/**
 * Claims `wanted` (all or nothing), or when absent the highest free core. Throws
 * CoresError when a wanted core is taken or no core is free.
 */
export function claimCores(cacheDir: string, wanted: readonly number[] | undefined): CoreClaim {
  const dir = join(cacheDir, "worker-cores");
  ensureDir(dir, "cache directory");
  const release = (cores: readonly number[]) => {
    for (const c of cores)
      if (holder(dir, c) === undefined) rmSync(join(dir, `${c}.pid`), { force: true });
  };
  let cores: number[];
  if (wanted) {
    const got: number[] = [];
    for (const c of wanted) {
      if (!claimOne(dir, c)) {
        release(got);
        throw new CoresError(
          `core ${c} is taken by another worker (pid ${holder(dir, c) ?? "?"}); choose other --cores`,
        );
      }
      got.push(c);
    }
    cores = got;
  } else {
    const free = [...Array(cpus().length).keys()].reverse().find((c) => claimOne(dir, c));
    if (free === undefined)
      throw new CoresError("every core is taken by a worker; stop one or pass --cores");
    cores = [free];
  }
  return { cores, list: cores.join(","), release: () => release(cores) };
}
