/**
 * Builds generated C into a binary, through a content-addressed cache: the key hashes
 * source, flags and compiler version, so rebuilding the same candidate costs nothing.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import { ensureDir } from "../util/paths.ts";

export interface BuildResult {
  readonly binary: string;
  readonly key: string;
  readonly cached: boolean;
  readonly ms: number;
}

export interface BuildOptions {
  readonly cacheDir: string;
  readonly timeoutMs?: number;
  /** Names the candidate in error messages. */
  readonly subject?: string;
  /** CPU list (taskset syntax) the compiler is pinned to: cores no timed run uses. */
  readonly cpus?: string;
}

export function buildKey(source: string, compiler: Compiler): string {
  return createHash("sha256")
    .update(compiler.command)
    .update("\0")
    .update(compiler.version)
    .update("\0")
    .update(compiler.flags.join(" "))
    .update("\0")
    .update(compiler.linkFlags.join(" "))
    .update("\0")
    .update(source)
    .digest("hex")
    .slice(0, 32);
}

export async function buildBinary(
  source: string,
  compiler: Compiler,
  opts: BuildOptions,
): Promise<BuildResult> {
  const start = performance.now();
  const key = buildKey(source, compiler);
  const dir = join(opts.cacheDir, "bin");
  const binary = join(dir, key);
  if (existsSync(binary)) return { binary, key, cached: true, ms: performance.now() - start };
  ensureDir(dir, "cache directory");
  const unique = `${key}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const src = join(dir, `${unique}.c`);
  const tmpBinary = join(dir, `${unique}.tmp`);
  writeFileSync(src, source);
  try {
    const args = [...compiler.flags, src, "-o", tmpBinary, ...compiler.linkFlags];
    const argv = opts.cpus ? ["taskset", "-c", opts.cpus, ...compiler.argv] : compiler.argv;
    const { code, stderr, timedOut } = await runCompiler(argv, args, opts.timeoutMs ?? 120_000);
    const subject = opts.subject ?? key;
    if (timedOut)
      throw new CandidateError(
        "compile-error",
        `compiler timed out after ${opts.timeoutMs ?? 120_000} ms`,
        subject,
      );
    if (code !== 0) throw new CandidateError("compile-error", excerpt(stderr), subject);
    // Atomic publish: concurrent builders of the same key never see a half-written binary.
    renameSync(tmpBinary, binary);
    return { binary, key, cached: false, ms: performance.now() - start };
  } finally {
    rmSync(src, { force: true });
    rmSync(tmpBinary, { force: true });
  }
}

function excerpt(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => /error|undefined|fatal/i.test(l));
  return (lines.length > 0 ? lines : stderr.split("\n")).slice(0, 6).join("\n").slice(0, 1500);
}

function runCompiler(
  argv: readonly string[],
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...argv.slice(1), ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    let timedOut = false;
    child.stderr.on("data", (d: Buffer) => {
      if (stderr.length < 100_000) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, timedOut });
    });
  });
}
