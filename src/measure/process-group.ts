/**
 * Ending a candidate and everything it started. Each run is its own session and process
 * group (spawned detached), so one signal to the group reaches forked grandchildren; a
 * grandchild that left the group (setsid, daemon) still carries the run's tag in its
 * environment and is found in /proc. Groups still alive when COLT is interrupted or exits
 * are killed too: detached, they no longer get the terminal's Ctrl-C.
 */
import { readdirSync, readFileSync } from "node:fs";

export const RUN_TAG_ENV = "COLT_RUN_TAG";

const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function isErrno(e: unknown, ...codes: string[]): boolean {
  return e instanceof Error && codes.includes((e as NodeJS.ErrnoException).code ?? "");
}

/** SIGKILL to a whole process group; a group that is already gone is fine. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch (e) {
    if (!isErrno(e, "ESRCH")) throw e;
  }
}

/** SIGKILL to every process of this user whose environment carries `tag`. */
export function killTagged(tag: string): number[] {
  const needle = Buffer.from(`${RUN_TAG_ENV}=${tag}\0`);
  const killed: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch (e) {
      // Other users' processes are unreadable; short-lived ones vanish while we look.
      if (isErrno(e, "EACCES", "ENOENT", "ESRCH", "EPERM")) continue;
      throw e;
    }
    if (!environ.includes(needle)) continue;
    try {
      process.kill(Number(entry), "SIGKILL");
      killed.push(Number(entry));
    } catch (e) {
      if (!isErrno(e, "ESRCH")) throw e;
    }
  }
  return killed;
}

/**
 * A run COLT is starting: tracked before its process is spawned, so a signal that arrives
 * while the spawn returns already finds COLT's handler (with none, SIGTERM would end COLT
 * at once and leave the new candidate running; seen in a loaded CI run).
 */
export interface TrackedRun {
  /** The run's process group, once spawned. */
  pgid?: number;
}

const liveRuns = new Set<TrackedRun>();

function killLiveGroups(): void {
  for (const run of liveRuns) if (run.pgid !== undefined) killGroup(run.pgid);
  liveRuns.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killLiveGroups();
  for (const s of FORWARDED) process.off(s, onSignal);
  // A command that handles the signal itself (tune marks its run interrupted) carries on;
  // otherwise default handling again, so COLT ends as it would have without us.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function trackRun(): TrackedRun {
  if (liveRuns.size === 0) {
    for (const s of FORWARDED) process.on(s, onSignal);
    process.on("exit", killLiveGroups);
  }
  const run: TrackedRun = {};
  liveRuns.add(run);
  return run;
}

export function untrackRun(run: TrackedRun): void {
  liveRuns.delete(run);
  if (liveRuns.size === 0) {
    for (const s of FORWARDED) process.off(s, onSignal);
    process.off("exit", killLiveGroups);
  }
}
