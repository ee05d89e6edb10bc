/**
 * The machine as the cost model sees it: the target's vector width, FP ports, chain
 * latencies, issue width and caches (from src/target/, the L2 the profile measured), and
 * what the C compiler at -O3 does to a loop nest (GCC's limits), which is part of it.
 */
import type { MachineProfile } from "../measure/profile.ts";
import { findTarget } from "../target/detect.ts";
import { LEGACY_TARGET } from "../target/targets.ts";

export interface MachineModel {
  readonly target: string;
  /** FP32 lanes of one hardware vector; the profile's peak assumes them. */
  readonly lanes: number;
  /** FP vector ports: peak = ports * lanes * 2 (FMA) * frequency. */
  readonly fpPorts: number;
  /** Latency (cycles) of one step of an accumulation chain, by combiner. */
  readonly chainLatency: { readonly add: number; readonly max: number };
  /** Instructions the core issues per cycle. */
  readonly issueWidth: number;
  readonly l1Bytes: number;
  /** Private last-level cache per core. */
  readonly l2Bytes: number;
  readonly lineBytes: number;
}

/** Instructions in flight that can overlap independent dependency chains. */
export const WINDOW = 200;
/** Cycles of entering and leaving a run-time loop (setup, exit misprediction). */
export const LOOP_ENTRY_CYCLES = 4;
/** Cycles of entering an OpenMP parallel region (team start and barrier). */
export const PARALLEL_ENTRY_CYCLES = 1500;
/** Below this trip count the C compiler's auto-vectorizer is assumed not to bother. */
export const AUTOVEC_MIN_TRIP = 4;
/**
 * Cost of one operation on a vector wider than the hardware's, per hardware-width part:
 * GCC lowers such generic vectors poorly (measured on x86-avx512: 10-20x slower than one
 * register wide).
 */
export const WIDE_VECTOR_PENALTY = 10;
/** GCC's complete unrolling limits: iterations, and instructions after unrolling. */
export const CUNROLL_MAX_TRIP = 16;
export const CUNROLL_MAX_SIZE = 200;

/**
 * The model of the machine a profile was calibrated on: its target's ISA and caches, with
 * the private cache the profile reports. A profile from before targets is x86-avx512's.
 */
export function machineModel(profile: MachineProfile): MachineModel {
  const t = findTarget(profile.target ?? LEGACY_TARGET);
  return {
    target: t.name,
    lanes: t.isa.lanes,
    fpPorts: t.isa.fmaPorts,
    chainLatency: t.isa.chainLatency,
    issueWidth: t.isa.issueWidth,
    l1Bytes: t.caches.l1Bytes,
    l2Bytes: privateCacheBytes(profile, t.caches.l2Bytes),
    lineBytes: t.caches.lineBytes,
  };
}

/** The private cache per core the profile reports (L2 on most machines), else the target's. */
function privateCacheBytes(profile: MachineProfile, declared: number): number {
  const bytes = (profile as { cacheBytesPerCore?: number }).cacheBytesPerCore;
  return bytes !== undefined && Number.isFinite(bytes) && bytes > 0 ? bytes : declared;
}

/** Hardware vector instructions per operation on `lanes` lanes (see WIDE_VECTOR_PENALTY). */
export function widthFactor(lanes: number, m: MachineModel): number {
  return lanes <= m.lanes ? 1 : (lanes / m.lanes) * WIDE_VECTOR_PENALTY;
}
