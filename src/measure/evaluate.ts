/**
 * Build -> run -> verify for one schedule, against the reference output of the
 * unscheduled program (computed once per program and seed, cached on disk).
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
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
import { runPrefix } from "../target/target.ts";
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
  /** Builds a binary; default `buildBinary` into the cache (the engine keeps builds off its runs' cores). */
  readonly build?: (source: string, subject: string) => Promise<{ readonly binary: string }>;
}

export interface Verification {
  readonly verified: boolean;
  readonly error: number;
}

/** A run's outputs, concatenated in kernel order, and how long the run took (wall, ms). */
interface OutputRun {
  readonly output: Float32Array;
  readonly runMs: number;
}

/** Runs a binary once and returns its outputs. */
async function runForOutputs(
  binary: string,
  program: Program,
  subject: string,
  opts: EvalOptions,
): Promise<OutputRun> {
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
        { timeoutMs, limits, emulator: runPrefix(opts.compiler.target) },
      ),
    );
    const failed = runFailure(r, timeoutMs);
    if (failed) throw new CandidateError(failed.failure, failed.detail, subject);
    return { output: readFloat32(file), runMs: r.ms };
  } finally {
    rmSync(file, { force: true });
  }
}

function outputFloats(p: Program): number {
  return p.outputs.reduce((n, o) => n + tensorShape(p, o).reduce((m, d) => m * d, 1), 0);
}

/**
 * The unscheduled program's outputs for this seed and the wall time of the run that
 * computed them (undefined when the cache predates recording it), from the disk cache
 * when present. The run time sizes the candidates' run timeout (run-timeout.ts).
 */
export interface ReferenceRun {
  readonly output: Float32Array;
  readonly runMs: number | undefined;
}

function readRunMs(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const runMs: unknown = JSON.parse(readFileSync(file, "utf8")).runMs;
  return typeof runMs === "number" && runMs > 0 ? runMs : undefined;
}

export async function referenceRun(program: Program, opts: EvalOptions): Promise<ReferenceRun> {
  checkMemory(program, opts.memoryLimit ?? resolveMemoryLimit(undefined));
  const seed = opts.seed ?? 1;
  const dir = join(opts.cacheDir, "ref");
  const file = join(dir, `${programHash(program)}-${seed}.f32`);
  const timeFile = `${file}.json`;
  if (existsSync(file)) {
    const output = readFloat32(file);
    if (output.length === outputFloats(program)) return { output, runMs: readRunMs(timeFile) };
  }
  const { source } = generateC(Schedule.initial(program).lower());
  const subject = `${program.name} reference`;
  const { binary } = await (opts.build
    ? opts.build(source, subject)
    : buildBinary(source, opts.compiler, { cacheDir: opts.cacheDir, subject }));
  const run = await runForOutputs(binary, program, subject, {
    ...opts,
    threads: 1,
  });
  ensureDir(dir, "cache directory");
  writeAtomically(timeFile, JSON.stringify({ runMs: run.runMs }));
  writeAtomically(file, new Uint8Array(run.output.buffer));
  return run;
}

/** Readers in other processes see the whole file or none of it. */
function writeAtomically(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The unscheduled program's outputs for this seed (see referenceRun). */
export async function referenceOutput(program: Program, opts: EvalOptions): Promise<Float32Array> {
  return (await referenceRun(program, opts)).output;
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
  const [{ output: candidate }, reference] = await Promise.all([
    runForOutputs(binary, schedule.program, subject, opts),
    referenceOutput(schedule.program, opts),
  ]);
  const error = relativeL2Error(candidate, reference);
  return { verified: error <= (opts.tolerance ?? DEFAULT_TOLERANCE), error, binary };
}
