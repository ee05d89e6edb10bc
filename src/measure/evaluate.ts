/**
 * Build -> run -> verify for one schedule, against the reference output of the
 * unscheduled program (computed once per program and seed, cached on disk).
 */
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateC } from "../codegen/generate.ts";
import { programHash } from "../ir/hash.ts";
import type { Program } from "../ir/program.ts";
import { tensorShape } from "../ir/program.ts";
import { Schedule } from "../schedule/schedule.ts";
import { buildBinary } from "./build.ts";
import { runFailure } from "./classify.ts";
import type { Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import { outputPath, readFloat32 } from "./harness-output.ts";
import { checkMemory, resolveMemoryLimit, type MemoryLimit } from "./memory-limit.ts";
import { processLimits } from "./resource-limits.ts";
import { runBinary } from "./run.ts";
import { DEFAULT_TOLERANCE, relativeL2Error } from "./verify.ts";
import { ensureDir } from "../util/paths.ts";

export interface EvalOptions {
  readonly compiler: Compiler;
  readonly cacheDir: string;
  readonly seed?: number;
  readonly threads?: number;
  readonly runTimeoutMs?: number;
  readonly tolerance?: number;
  /** Memory the tensors may take; default: COLT_MAX_MEMORY or the machine's. */
  readonly memoryLimit?: MemoryLimit;
  /** Wraps each run, e.g. to take turns with other measurements; builds stay outside. */
  readonly exclusive?: <T>(run: () => Promise<T>) => Promise<T>;
}

export interface Verification {
  readonly verified: boolean;
  readonly error: number;
}

/** Runs a binary once and returns its outputs, concatenated in kernel order. */
async function runForOutputs(
  binary: string,
  program: Program,
  subject: string,
  opts: EvalOptions,
): Promise<Float32Array> {
  const file = outputPath();
  const threads = opts.threads ?? 1;
  const timeoutMs = opts.runTimeoutMs ?? 60_000;
  const limits = processLimits(program, {
    threads,
    memoryLimit: opts.memoryLimit ?? resolveMemoryLimit(undefined),
    timeoutMs,
  });
  const exclusive = opts.exclusive ?? ((run) => run());
  try {
    const r = await exclusive(() =>
      runBinary(
        binary,
        ["--seed", String(opts.seed ?? 1), "--threads", String(threads), "--out", file],
        { timeoutMs, limits },
      ),
    );
    const failed = runFailure(r, timeoutMs);
    if (failed) throw new CandidateError(failed.failure, failed.detail, subject);
    return readFloat32(file);
  } finally {
    rmSync(file, { force: true });
  }
}

function outputFloats(p: Program): number {
  return p.outputs.reduce((n, o) => n + tensorShape(p, o).reduce((m, d) => m * d, 1), 0);
}

/** The unscheduled program's outputs for this seed, from the disk cache when present. */
export async function referenceOutput(program: Program, opts: EvalOptions): Promise<Float32Array> {
  checkMemory(program, opts.memoryLimit ?? resolveMemoryLimit(undefined));
  const seed = opts.seed ?? 1;
  const dir = join(opts.cacheDir, "ref");
  const file = join(dir, `${programHash(program)}-${seed}.f32`);
  if (existsSync(file)) {
    const data = readFloat32(file);
    if (data.length === outputFloats(program)) return data;
  }
  const { source } = generateC(Schedule.initial(program).lower());
  const { binary } = await buildBinary(source, opts.compiler, {
    cacheDir: opts.cacheDir,
    subject: `${program.name} reference`,
  });
  const data = await runForOutputs(binary, program, `${program.name} reference`, {
    ...opts,
    threads: 1,
  });
  ensureDir(dir, "cache directory");
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, new Uint8Array(data.buffer));
  renameSync(tmp, file);
  return data;
}

/** Builds and runs a schedule and compares its outputs with the reference. */
export async function verifySchedule(
  schedule: Schedule,
  opts: EvalOptions,
): Promise<Verification & { binary: string }> {
  checkMemory(schedule.program, opts.memoryLimit ?? resolveMemoryLimit(undefined));
  const { source } = generateC(schedule.lower());
  const subject = `${schedule.program.name} candidate`;
  const { binary } = await buildBinary(source, opts.compiler, { cacheDir: opts.cacheDir, subject });
  const [candidate, reference] = await Promise.all([
    runForOutputs(binary, schedule.program, subject, opts),
    referenceOutput(schedule.program, opts),
  ]);
  const error = relativeL2Error(candidate, reference);
  return { verified: error <= (opts.tolerance ?? DEFAULT_TOLERANCE), error, binary };
}
