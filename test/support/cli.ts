/** Runs the real `colt` command in a child process. */
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/colt.js", import.meta.url));

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

/**
 * Runs colt without blocking the event loop, for tests whose servers live in this
 * process. Variables named in `unset` are not inherited (a key reaches the child only
 * when a test passes it).
 */
export function coltAsync(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  unset: readonly string[] = [],
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const inherited = { ...process.env };
    for (const name of unset) delete inherited[name];
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...inherited, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
