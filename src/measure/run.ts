/**
 * Runs one candidate binary in its own process group, under resource limits, with a
 * timeout; never throws on the candidate's failure. The run ends when the candidate
 * does: whatever it forked is killed then, so a grandchild can neither outlive the
 * measurement nor stretch it by holding the output pipes open.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { ToolNotFoundError } from "./errors.ts";
import { killGroup, killTagged, RUN_TAG_ENV, trackRun, untrackRun } from "./process-group.ts";
import { prlimitPrefix, type ProcessLimits } from "./resource-limits.ts";

export interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

export interface RunOptions {
  readonly timeoutMs: number;
  /** CPU list for taskset, e.g. "1" or "0-1": pins the measurement to the target cores. */
  readonly cpus?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Address space and CPU time the process (and its children) may use. */
  readonly limits?: ProcessLimits;
  /** Runs the binary under this command (a target's emulator, `runPrefix`). */
  readonly emulator?: readonly string[];
}

/** How long output may keep arriving after the candidate's group was killed. */
const PIPE_GRACE_MS = 200;

const TOOLS: Readonly<Record<string, string>> = {
  prlimit: "util-linux",
  taskset: "util-linux",
};

export function runBinary(
  binary: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<RunOutcome> {
  const start = performance.now();
  const argv = [
    ...(opts.limits ? prlimitPrefix(opts.limits) : []),
    ...(opts.cpus ? ["taskset", "-c", opts.cpus] : []),
    ...(opts.emulator ?? []),
    binary,
    ...args,
  ];
  const tag = `${process.pid}-${randomBytes(8).toString("hex")}`;
  return new Promise((resolve, reject) => {
    const run = trackRun();
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...(opts.env ?? process.env), [RUN_TAG_ENV]: tag },
      detached: true,
    });
    const pgid = child.pid;
    run.pgid = pgid;
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < 10_000_000) stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 100_000) stderr += d.toString();
    });
    const endAll = () => {
      if (pgid !== undefined) {
        killGroup(pgid);
        killTagged(tag);
      }
      untrackRun(run);
    };
    const finish = () => {
      if (settled || !exit) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      resolve({ ...exit, stdout, stderr, timedOut, ms: performance.now() - start });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      endAll();
    }, opts.timeoutMs);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      untrackRun(run);
      settled = true;
      const tool = TOOLS[argv[0]];
      reject(e.code === "ENOENT" && tool ? new ToolNotFoundError(argv[0], tool) : e);
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      endAll();
      // Killed, nothing can hold the pipes much longer; the guard is for what we could not find.
      grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, PIPE_GRACE_MS);
    });
    child.on("close", finish);
  });
}
