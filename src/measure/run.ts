/** Runs one candidate binary in its own process, with a timeout; never throws on its failure. */
import { spawn } from "node:child_process";

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
}

export function runBinary(
  binary: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<RunOutcome> {
  const start = performance.now();
  const [command, argv] = opts.cpus
    ? ["taskset", ["-c", opts.cpus, binary, ...args]]
    : [binary, [...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      stdio: ["ignore", "pipe", "pipe"],
      env: opts.env ?? process.env,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => {
      if (stdout.length < 10_000_000) stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 100_000) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - start });
    });
  });
}
