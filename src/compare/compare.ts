/**
 * COLT against ONNX Runtime on one workload instance: the schedule measured by COLT's
 * engine, then the equivalent ONNX graph in ONNX Runtime on the same cores, inputs and
 * thread count, its output checked against COLT's reference; OpenBLAS too for matmuls.
 * With several rounds the sides alternate, each round taking its share of the measuring
 * time, and the ratio is the median of the rounds' ratios: on a machine whose speed drifts
 * over minutes (a shared virtual machine), a slow minute then falls on both sides.
 */
import { flopCount, kernelFlopCount } from "../ir/program.ts";
import { openBlasAvailable, timeSgemm } from "../measure/blas.ts";
import type { Compiler } from "../measure/compiler.ts";
import { MeasurementEngine } from "../measure/engine.ts";
import type { MemoryLimit } from "../measure/memory-limit.ts";
import { CandidateError } from "../measure/errors.ts";
import { referenceOutput } from "../measure/evaluate.ts";
import { median, pooledRounds, summarize, type TimingSummary } from "../measure/stats.ts";
import { onnxGraphOf } from "../onnx/graphs.ts";
import { buildOnnxModel, type OnnxModel } from "../onnx/model.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { checkOrtOutput } from "./check.ts";
import { loadOrt } from "./ort-load.ts";
import { runOrt } from "./ort-run.ts";

export interface CompareOptions {
  readonly workload: string;
  readonly schedule: Schedule;
  readonly compiler: Compiler;
  readonly cacheDir: string;
  readonly threads: number;
  readonly seed: number;
  /** Minimum measuring time of each side, after warm-up, split over the rounds. */
  readonly minMs: number;
  /** Times the sides alternate (default 1: each side measured once). */
  readonly rounds?: number;
  /** Per run of either side: an unscheduled program at paper size takes many seconds a run. */
  readonly runTimeoutMs?: number;
  /** Memory the workload's tensors may take (default: the environment, else the machine's). */
  readonly memoryLimit?: MemoryLimit;
  /** The ONNX model to run, when the workload is not built in (an imported task's subgraph). */
  readonly onnxModel?: OnnxModel;
}

const DEFAULT_RUN_TIMEOUT_MS = 1_800_000;

export type SideTiming = TimingSummary & { readonly gflops: number };

export interface Comparison {
  readonly workload: string;
  readonly shape: Readonly<Record<string, number>>;
  readonly threads: number;
  /** The cores both sides ran on (taskset list). */
  readonly cpus: string;
  readonly flops: number;
  /** The operations COLT's kernel executes: fewer than `flops` after a rewrite (winograd). */
  readonly executedFlops: number;
  readonly colt: SideTiming & { readonly error: number };
  readonly ort: SideTiming & { readonly error: number; readonly version: string };
  /** cblas_sgemm on the same shape, for matmul and batch-matmul when OpenBLAS is installed. */
  readonly openblas: SideTiming | null;
  /** COLT's speed over ONNX Runtime's: the median over rounds of ORT's median time / COLT's. */
  readonly ratio: number;
  /** Each round's ratio, in the order measured. */
  readonly roundRatios: readonly number[];
  /**
   * ORT's fastest repetition over COLT's, over all rounds: on a machine whose speed drifts
   * over seconds the minimum repeats between sittings where the median does not.
   */
  readonly minRatio: number;
}

const SGEMM_WORKLOADS = ["matmul", "batch-matmul"];

export async function compareWithOrt(o: CompareOptions): Promise<Comparison> {
  const ort = await loadOrt();
  const program = o.schedule.program;
  const onnxModel = o.onnxModel ?? buildOnnxModel(program, onnxGraphOf(o.workload), o.seed);
  const flops = flopCount(program);
  const withSpeed = (t: TimingSummary): SideTiming => ({
    ...t,
    gflops: flops / (t.medianMs * 1e6),
  });
  const rounds = o.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new RangeError(`compare: rounds must be a positive integer, got ${rounds}`);
  const minMs = o.minMs / rounds;
  const engine = new MeasurementEngine({
    compiler: o.compiler,
    cacheDir: o.cacheDir,
    threads: o.threads,
    seed: o.seed,
    minMs,
    runTimeoutMs: o.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    memoryLimit: o.memoryLimit,
  });
  const reference = await referenceOutput(program, {
    compiler: o.compiler,
    cacheDir: o.cacheDir,
    seed: o.seed,
    runTimeoutMs: o.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
  });
  const p = program.params;
  const sgemmShape =
    SGEMM_WORKLOADS.includes(o.workload) && openBlasAvailable(o.compiler)
      ? { M: p.M, N: p.N, K: p.K, batch: o.workload === "batch-matmul" ? p.B : 1 }
      : null;
  const coltRounds: TimingSummary[] = [];
  const ortRounds: TimingSummary[] = [];
  const blasRounds: TimingSummary[] = [];
  let coltError = 0;
  let ortError = 0;
  for (let round = 0; round < rounds; round++) {
    const m = await engine.measure(o.schedule);
    if (m.status !== "ok" || !m.timing) {
      throw new CandidateError(
        m.status === "ok" ? "bad-output" : m.status,
        m.detail ?? "no timing",
        `${o.workload} schedule`,
      );
    }
    coltRounds.push(m.timing);
    coltError = Math.max(coltError, m.error ?? 0);
    const ortRun = await runOrt(onnxModel, {
      workload: o.workload,
      threads: o.threads,
      cpus: engine.pinnedCpus(),
      seed: o.seed,
      minMs,
      timeoutMs: o.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    });
    ortError = Math.max(ortError, checkOrtOutput(o.workload, ortRun.output, reference));
    ortRounds.push(summarize(ortRun.times));
    if (sgemmShape) {
      const times = await timeSgemm(sgemmShape, {
        compiler: o.compiler,
        cacheDir: o.cacheDir,
        threads: o.threads,
        minMs,
        cpus: engine.pinnedCpus(),
      });
      blasRounds.push(summarize(times));
    }
  }
  const roundRatios = coltRounds.map((c, i) => ortRounds[i].medianMs / c.medianMs);
  const colt = pooledRounds(coltRounds);
  const ortSide = pooledRounds(ortRounds);
  return {
    workload: o.workload,
    shape: program.params,
    threads: o.threads,
    cpus: engine.pinnedCpus(),
    flops,
    executedFlops: Math.min(flops, kernelFlopCount(o.schedule.state.program)),
    colt: { ...withSpeed(colt), error: coltError },
    ort: {
      ...withSpeed(ortSide),
      error: ortError,
      version: ort.env.versions.node ?? "unknown",
    },
    openblas: sgemmShape ? withSpeed(pooledRounds(blasRounds)) : null,
    ratio: median(roundRatios),
    roundRatios,
    minRatio: ortSide.minMs / colt.minMs,
  };
}
