/** Runs the real `colt` command in a child process. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/colt.js", import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `timeoutMs` ends a hung command with SIGTERM; its code is then null. */
export function colt(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ExitedColt extends CliResult {
  readonly signal: NodeJS.Signals | null;
}

/**
 * Starts `colt` in a child process and resolves when it exits; `onStderr` sees the
 * stderr written so far after each chunk (and the child, to send it signals). Variables
 * named in `unset` are not inherited (a key reaches the child only when a test passes it).
 */
export function startColt(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onStderr?: (text: string, child: ChildProcess) => void,
  unset: readonly string[] = [],
): Promise<ExitedColt> {
  const inherited = { ...process.env };
  for (const name of unset) delete inherited[name];
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    onStderr?.(stderr, child);
  });
  return new Promise((done, fail) => {
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** Runs colt without blocking the event loop, for tests whose servers live in this process. */
export function coltAsync(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  unset: readonly string[] = [],
): Promise<CliResult> {
  return startColt(args, env, undefined, unset);
}
