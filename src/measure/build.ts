/**
 * Builds generated C into a binary, through a content-addressed cache: the key hashes
 * source, flags and compiler version, so rebuilding the same candidate costs nothing. A
 * generated program's harness is compiled apart and cached the same way (as an object).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HARNESS_START } from "../codegen/harness.ts";
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
  const subject = opts.subject ?? key;
  const split = source.indexOf(HARNESS_START);
  const objects =
    split < 0 ? [] : [await harnessObject(source.slice(split), compiler, dir, opts, subject)];
  await compile(
    binary,
    split < 0 ? source : source.slice(0, split),
    objects,
    compiler,
    opts,
    subject,
  );
  return { binary, key, cached: false, ms: performance.now() - start };
}

/**
 * The measurement harness compiled on its own, once per program and compiler: the
 * candidates of a tune share it, and it was about a third of each build (softmax at small
 * size, gcc 12 -O3: 0.16 s for kernel and harness, 0.10 s for the kernel alone).
 */
async function harnessObject(
  harness: string,
  compiler: Compiler,
  dir: string,
  opts: BuildOptions,
  subject: string,
): Promise<string> {
  const object = join(dir, `${buildKey(harness, compiler)}.o`);
  if (!existsSync(object)) await compile(object, harness, undefined, compiler, opts, subject);
  return object;
}

/**
 * Compiles `source` into `target`: linked with `objects` into a program, or (objects
 * undefined) into an object file. Published atomically: concurrent builders of the same
 * target never see a half-written file.
 */
async function compile(
  target: string,
  source: string,
  objects: readonly string[] | undefined,
  compiler: Compiler,
  opts: BuildOptions,
  subject: string,
): Promise<void> {
  const unique = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  const src = `${unique}.c`;
  const tmp = `${unique}.tmp`;
  writeFileSync(src, source);
  try {
    const args = objects
      ? [...compiler.flags, src, ...objects, "-o", tmp, ...compiler.linkFlags]
      : [...compiler.flags, "-c", src, "-o", tmp];
    const argv = opts.cpus ? ["taskset", "-c", opts.cpus, ...compiler.argv] : compiler.argv;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const { code, stderr, timedOut } = await runCompiler(argv, args, timeoutMs);
    if (timedOut)
      throw new CandidateError(
        "compile-error",
        `compiler timed out after ${timeoutMs} ms`,
        subject,
      );
    if (code !== 0) throw new CandidateError("compile-error", excerpt(stderr), subject);
    renameSync(tmp, target);
  } finally {
    rmSync(src, { force: true });
    rmSync(tmp, { force: true });
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
