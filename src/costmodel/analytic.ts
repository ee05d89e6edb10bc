/**
 * Analytic run-time estimate: a roofline refined by what the schedule does to the core.
 * Compute time comes from a port model of each innermost loop body (scalar code issues one
 * element per FP instruction, one lane's share of peak; a reduction into one accumulator waits for the
 * previous add; loads and stores compete for their ports; see nest-analysis.ts), memory
 * time from the cache lines missing L1 and L2 according to loop footprints. The two
 * overlap only partly.
 */
import type { MachineProfile } from "../measure/profile.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { machineModel } from "./machine-model.ts";
import { analyzeNest, type NestAnalysis } from "./nest-analysis.ts";

/** Bytes per cycle L2 delivers to L1 (sustained, one core). */
const L2_BYTES_PER_CYCLE = 32;
/** Fraction of the smaller of compute and memory time that does not overlap the larger. */
const NON_OVERLAP = 0.3;
/**
 * The same in a pipelined loop, whose steps interleave one row's arithmetic with another's
 * memory traffic (softmax at paper size as C by hand, Zen 5 VM: 6.4 -> 5.1 ms).
 */
const PIPELINED_NON_OVERLAP = 0.1;
/**
 * Time lost by equal parts of a parallel loop on several threads: on a virtual machine the
 * cores' speed and their share of the memory bus vary while they run (AMD EPYC Zen 5 VM:
 * one core a third slower than the other for minutes), and equal parts wait for the
 * slowest; handed out dynamically (`parallel ... dynamic`) they even out (as C, streamed
 * rmsnorm and layernorm at paper size on two threads: medians 12-15% lower in one phase of
 * the machine, the same in another; llama4-scout-mlp's GEMMs in 8 parts handed out against
 * 2: 7% lower). Dynamic parts give up the data's place in one core's cache, which no model
 * here weighs: the search measures both (an rmsnorm whose rows stay in the L3 was slower
 * dynamic). Weighed by the share of the cycles in loops of equal parts: a small element-wise
 * stage in equal parts beside GEMMs handed out dynamically loses its own 5%, not the
 * layer's (charged the layer's, sharing the MoE's SiLU product was predicted 0.8 ms slower).
 */
const STATIC_PARTS_IMBALANCE = 0.05;
/** Fixed cost of one kernel call (call, workspace pointers), seconds. */
const CALL_SECONDS = 50e-9;

export interface AnalyticBreakdown {
  readonly computeSeconds: number;
  /** Time to move the L1 misses from L2. */
  readonly l2Seconds: number;
  /** Time to move the L2 misses from memory (L3 / DRAM). */
  readonly memorySeconds: number;
  readonly totalSeconds: number;
}

/** Core clock implied by the calibrated peak (FMA on every FP port, full vectors). */
export function coreHz(profile: MachineProfile): number {
  const m = machineModel(profile);
  return profile.peakFlopsPerCore / (m.fpPorts * 2 * m.lanes);
}

export function analyticBreakdown(
  analysis: NestAnalysis,
  profile: MachineProfile,
  threads = 1,
  pipelined = false,
  /** Share of the compute cycles in parallel loops of equal parts (0..1). */
  staticShare = 0,
): AnalyticBreakdown {
  const hz = coreHz(profile);
  const computeSeconds = analysis.cycles / hz;
  // Memory traffic is shared by the cores working in parallel loops.
  let work = 0;
  let parallelWork = 0;
  for (const s of analysis.stores) {
    work += s.iters;
    if (s.parallel) parallelWork += s.iters;
  }
  const cores = 1 + (Math.max(1, threads) - 1) * (work > 0 ? parallelWork / work : 0);
  const l2Seconds = analysis.trafficL1 / (L2_BYTES_PER_CYCLE * hz * cores);
  const memorySeconds = analysis.trafficL2 / (profile.bandwidthPerCore * cores);
  const parts = [computeSeconds, l2Seconds, memorySeconds];
  const largest = Math.max(...parts);
  const rest = parts.reduce((a, b) => a + b, 0) - largest;
  const imbalance = cores > 1 ? 1 + STATIC_PARTS_IMBALANCE * staticShare : 1;
  const totalSeconds =
    imbalance * (largest + (pipelined ? PIPELINED_NON_OVERLAP : NON_OVERLAP) * rest) + CALL_SECONDS;
  return { computeSeconds, l2Seconds, memorySeconds, totalSeconds };
}

/** Estimated run time of one kernel call in milliseconds (finite, > 0). */
export function analyticEstimateMs(
  schedule: Schedule,
  profile: MachineProfile,
  threads = 1,
): number {
  const analysis = analyzeNest(schedule.lower(), machineModel(profile), threads);
  const pipelined = schedule.state.stages.some((s) => s.pipelined !== undefined);
  const staticShare =
    analysis.cycles > 0 ? Math.min(1, analysis.staticParallelCycles / analysis.cycles) : 0;
  const b = analyticBreakdown(analysis, profile, threads, pipelined, staticShare);
  const ms = b.totalSeconds * 1e3;
  return Number.isFinite(ms) && ms > 0 ? ms : CALL_SECONDS * 1e3;
}
