/**
 * The measurement engine: builds candidates in parallel (bounded by the cores), then
 * runs them one at a time (a measurement never shares the cores with another, neither in
 * this process nor, through a lock in the cache directory, in another COLT), each in its
 * own pinned, resource-limited process group, verifies the output against the reference
 * and reports timing statistics. A failing candidate is classified and costs only itself.
 * A workload whose tensors exceed the memory limit is refused before anything is built.
 */
import { existsSync, rmSync } from "node:fs";
import { cpus } from "node:os";
import pLimit from "p-limit";
import { generateC } from "../codegen/generate.ts";
import { programHash } from "../ir/hash.ts";
import { flopCount, type Program } from "../ir/program.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { PhaseClock } from "../util/phase-clock.ts";
import { buildBinary, type BuildResult } from "./build.ts";
import { runFailure } from "./classify.ts";
import type { Compiler } from "./compiler.ts";
import { CandidateError, MeasurementAbandonedError, type FailureClass } from "./errors.ts";
import { referenceRun, type ReferenceRun } from "./evaluate.ts";
import { candidateRunTimeoutMs } from "./run-timeout.ts";
import { outputPath, parsePrepareMs, parseTimes, readFloat32 } from "./harness-output.ts";
import { checkMemory, resolveMemoryLimit, type MemoryLimit } from "./memory-limit.ts";
import { processLimits } from "./resource-limits.ts";
import { runBinary } from "./run.ts";
import { isEmulated, runPrefix } from "../target/target.ts";
import type { Runner } from "./runner.ts";
import { withMeasurementLock } from "./run-lock.ts";
import { BuildRunGate } from "./build-run-gate.ts";
import { cpusLeftFree } from "./cpu-list.ts";
import { summarize, type TimingSummary } from "./stats.ts";
import { DEFAULT_TOLERANCE, relativeL2Error } from "./verify.ts";

export interface EngineOptions {
  readonly compiler: Compiler;
  readonly cacheDir: string;
  readonly seed?: number;
  /** Cores the kernel runs on (OpenMP threads); default 1, the papers' single-core target. */
  readonly threads?: number;
  /**
   * CPU list (taskset syntax) measurements are pinned to; default: the last `threads`
   * cores. Workers sharing a machine take disjoint lists.
   */
  readonly cores?: string;
  /** Minimum measuring time per candidate, after warm-up. */
  readonly minMs?: number;
  readonly warmup?: number;
  readonly runTimeoutMs?: number;
  readonly buildTimeoutMs?: number;
  readonly tolerance?: number;
  /** Concurrent builds; default: the cores measurements leave free, else all cores. */
  readonly buildJobs?: number;
  /** Memory the tensors may take; default: COLT_MAX_MEMORY or the machine's. */
  readonly memoryLimit?: MemoryLimit;
  /** Where the engine's building and measuring time is counted (shared with the search). */
  readonly clock?: PhaseClock;
  /**
   * Once aborted, builds and runs that have not started are abandoned (a
   * MeasurementAbandonedError); those under way finish, so no process is left behind.
   */
  readonly stop?: AbortSignal;
}

const REFERENCE_TIMEOUT_MS = 600_000;

export type MeasurementStatus = "ok" | FailureClass;

export interface Measurement {
  readonly status: MeasurementStatus;
  readonly verified: boolean;
  /** Relative L2 error against the reference (when outputs were produced). */
  readonly error?: number;
  readonly timing?: TimingSummary;
  /** Time of the one-off weight preparation (prepare), never part of `timing`. */
  readonly prepareMs?: number;
  readonly gflops?: number;
  readonly buildMs: number;
  readonly buildCached: boolean;
  /** Wall time spent running (verification and timing). */
  readonly runMs: number;
  /** Why it failed: compiler stderr excerpt, signal name, ... */
  readonly detail?: string;
  /** The time is the emulator's (a cross target run under qemu): verification only. */
  readonly emulated?: boolean;
  readonly compiler: {
    readonly command: string;
    readonly version: string;
    readonly flags: readonly string[];
  };
}

export class MeasurementEngine implements Runner {
  private readonly buildLimit: ReturnType<typeof pLimit>;
  private readonly runLimit = pLimit(1);
  /** Cores no timed run uses, where builds go; none: builds and runs take turns (`gate`). */
  private readonly buildCpus: string | undefined;
  private readonly gate: BuildRunGate | undefined;
  /** Reference outputs by program and seed: computed once, while candidates build. */
  private readonly references = new Map<string, Promise<ReferenceRun>>();
  readonly memoryLimit: MemoryLimit;
  readonly clock: PhaseClock;

  constructor(readonly options: EngineOptions) {
    const free = cpusLeftFree(this.pinnedCpus());
    this.buildCpus = free.length > 0 ? free.join(",") : undefined;
    this.gate = free.length > 0 ? undefined : new BuildRunGate();
    this.buildLimit = pLimit(options.buildJobs ?? (free.length > 0 ? free.length : cpus().length));
    this.memoryLimit = options.memoryLimit ?? resolveMemoryLimit(undefined);
    this.clock = options.clock ?? new PhaseClock();
  }

  /** Runs `run` alone: after this engine's other runs, and in turn with other processes'. */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    const timed = () => this.clock.time("measuring", run);
    return this.runLimit(() =>
      withMeasurementLock(this.options.cacheDir, () =>
        this.gate ? this.gate.run(timed) : timed(),
      ),
    );
  }

  /** Builds off the cores timed runs use, or in turn with the runs when no core is free. */
  build(source: string, subject: string): Promise<BuildResult> {
    const o = this.options;
    const job = () =>
      this.clock.time("building", () =>
        buildBinary(source, o.compiler, {
          cacheDir: o.cacheDir,
          subject,
          timeoutMs: o.buildTimeoutMs,
          cpus: this.buildCpus,
        }),
      );
    return this.buildLimit(() => {
      this.abandonIfStopping(subject);
      return this.gate ? this.gate.build(job) : job();
    });
  }

  /** The CPU list a measurement is pinned to: `cores`, else the last `threads` cores. */
  pinnedCpus(): string {
    if (this.options.cores !== undefined) return this.options.cores;
    const n = cpus().length;
    const threads = Math.min(this.options.threads ?? 1, n);
    return threads === 1 ? String(n - 1) : `${n - threads}-${n - 1}`;
  }

  measureAll(schedules: readonly Schedule[]): Promise<Measurement[]> {
    return Promise.all(schedules.map((s) => this.measure(s)));
  }

  measure(schedule: Schedule): Promise<Measurement> {
    let source: string;
    try {
      source = generateC(schedule.lower()).source;
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      // A schedule the transformations accepted whose C cannot be written is a COLT bug:
      // this candidate fails, saying so, and a search goes on with the others (one such
      // candidate ended a 22-minute bench with a stack trace).
      return Promise.resolve({
        status: "codegen-error",
        verified: false,
        buildMs: 0,
        buildCached: false,
        runMs: 0,
        detail: `COLT could not generate C for this schedule (a bug in COLT; please report it with the schedule): ${e.message}`,
        compiler: this.compilerInfo(),
      });
    }
    return this.measureSource(schedule.program, source);
  }

  private compilerInfo(): Measurement["compiler"] {
    const { command, version, flags } = this.options.compiler;
    return { command, version, flags };
  }

  /** Measures C source generated for `program` (tests feed deliberately broken kernels here). */
  async measureSource(program: Program, source: string): Promise<Measurement> {
    const compilerInfo = this.compilerInfo();
    checkMemory(program, this.memoryLimit);
    const subject = `${program.name} candidate`;
    let buildMs = 0;
    let buildCached = false;
    let binary: string;
    try {
      const built = await this.build(source, subject);
      binary = built.binary;
      buildMs = built.ms;
      buildCached = built.cached;
    } catch (e) {
      if (e instanceof CandidateError) {
        return {
          status: e.failure,
          verified: false,
          buildMs,
          buildCached,
          runMs: 0,
          detail: e.detail,
          compiler: compilerInfo,
        };
      }
      throw e;
    }
    this.abandonIfStopping(subject);
    const reference = await this.reference(program);
    this.abandonIfStopping(subject);
    return this.runAndVerify(program, binary, reference, {
      buildMs,
      buildCached,
      compiler: compilerInfo,
    });
  }

  private abandonIfStopping(subject: string): void {
    if (this.options.stop?.aborted) throw new MeasurementAbandonedError(subject);
  }

  private reference(program: Program): Promise<ReferenceRun> {
    const key = `${programHash(program)}-${this.options.seed ?? 1}`;
    let pending = this.references.get(key);
    if (!pending) {
      pending = referenceRun(program, {
        ...this.options,
        runTimeoutMs: REFERENCE_TIMEOUT_MS,
        memoryLimit: this.memoryLimit,
        exclusive: (run) => this.exclusive(run),
        build: (source, subject) => this.build(source, subject),
      });
      // A failed reference is not remembered: the next candidate tries again.
      pending.catch(() => this.references.delete(key));
      this.references.set(key, pending);
    }
    return pending;
  }

  private async runAndVerify(
    program: Program,
    binary: string,
    reference: ReferenceRun,
    base: Pick<Measurement, "buildMs" | "buildCached" | "compiler">,
  ): Promise<Measurement> {
    const o = this.options;
    const file = outputPath();
    const threads = o.threads ?? 1;
    const warmup = o.warmup ?? 1;
    const minMs = o.minMs ?? 100;
    const timeoutMs = o.runTimeoutMs ?? candidateRunTimeoutMs(reference.runMs, { warmup, minMs });
    const limits = processLimits(program, { threads, memoryLimit: this.memoryLimit, timeoutMs });
    try {
      const r = await this.exclusive(() =>
        runBinary(
          binary,
          [
            "--seed",
            String(o.seed ?? 1),
            "--threads",
            String(threads),
            "--out",
            file,
            "--time",
            "--warmup",
            String(warmup),
            "--min-ms",
            String(minMs),
          ],
          {
            timeoutMs,
            cpus: this.pinnedCpus(),
            limits,
            emulator: runPrefix(o.compiler.target),
            env: {
              ...process.env,
              OMP_NUM_THREADS: String(threads),
              OMP_PROC_BIND: "close",
              OMP_WAIT_POLICY: "active",
            },
          },
        ),
      );
      const fail = (status: FailureClass, detail: string): Measurement => ({
        ...base,
        status,
        verified: false,
        runMs: r.ms,
        detail,
      });
      const failed = runFailure(r, timeoutMs);
      if (failed) return fail(failed.failure, failed.detail);
      const times = parseTimes(r.stdout);
      if (!existsSync(file) || !times) {
        return fail("bad-output", "the harness produced no readable output or timing");
      }
      const output = readFloat32(file);
      const error = relativeL2Error(output, reference.output);
      if (!(error <= (o.tolerance ?? DEFAULT_TOLERANCE))) {
        return {
          ...fail(
            "wrong-result",
            `relative L2 error ${error.toExponential(2)} against the reference`,
          ),
          error,
        };
      }
      const timing = summarize(times);
      const prepareMs = parsePrepareMs(r.stdout);
      return {
        ...base,
        status: "ok",
        verified: true,
        error,
        timing,
        ...(prepareMs !== undefined ? { prepareMs } : {}),
        gflops: flopCount(program) / (timing.medianMs * 1e6),
        runMs: r.ms,
        ...(isEmulated(o.compiler.target) ? { emulated: true } : {}),
      };
    } finally {
      rmSync(file, { force: true });
    }
  }
}
