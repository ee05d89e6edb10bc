/**
 * The roofline bound of a program (the time no schedule can beat on this machine) and how
 * a measured time compares with it.
 */
import { UNKNOWN_SHARED_REACH, type MachineProfile, type StreamFigures } from "./profile.ts";

/** Compulsory memory traffic: every input read once, every output written once. */
export interface Traffic {
  readonly readBytes: number;
  readonly writtenBytes: number;
}

/**
 * The bandwidth a kernel with this traffic mix can reach, from the stream calibrated with
 * the nearest mix, with ordinary or non-temporal stores, whichever is faster (a schedule
 * may stream its stores: `stream_store`, x86; version 8):
 * - writing less than a third of what it moves (a matrix-vector product): the read-only
 *   stream, which the triad underestimates (a GEMV beat it by 40%), or the triad;
 * - writing at least half (a row operator: softmax, rmsnorm, layernorm): the copy, since
 *   the triad's larger read share streams faster (Zen 5 VM over 32 MiB, both non-temporal:
 *   triad 78, copy 74 GB/s); between a third and a half (layernorm's gamma and beta make it
 *   0.4995), time per byte interpolated between the triad's and the copy's;
 * - otherwise, or where the copies were not calibrated (before version 8): the triad.
 */
function mixBandwidth(traffic: Traffic | undefined, p: StreamFigures): number {
  const written = traffic
    ? traffic.writtenBytes / (traffic.readBytes + traffic.writtenBytes)
    : 1 / 3;
  if (written < 1 / 3) return Math.max(p.bandwidthPerCore, p.readBandwidthPerCore ?? 0);
  const triad = Math.max(p.bandwidthPerCore, p.nonTemporalTriadPerCore ?? 0);
  if (p.copyBandwidthPerCore === undefined) return triad;
  const copy = Math.max(p.copyBandwidthPerCore, p.nonTemporalCopyPerCore ?? 0);
  const towardCopy = Math.min(1, (written - 1 / 3) * 6);
  return 1 / ((1 - towardCopy) / triad + towardCopy / copy);
}

/** The bandwidth a kernel with this traffic mix can reach from memory. */
export function streamBandwidth(traffic: Traffic, profile: MachineProfile): number {
  return mixBandwidth(traffic, profile);
}

/**
 * The bandwidth of one core over `bytes` of data repeated warm, partly or wholly in the
 * shared cache, or undefined beyond the largest calibrated footprint: the triad calibrated
 * at the largest footprint not above `bytes` (the bandwidth falls as the footprint grows,
 * so this one is never too low), the smallest footprint's below it, and for a version-4 or
 * 5 profile the triads it has, up to the shared cache's size; each footprint's streams
 * matched to the kernel's mix as from memory (the read-only stream from version 7, the
 * copies and non-temporal figures from version 8).
 */
export function sharedCacheBandwidth(
  bytes: number,
  profile: MachineProfile,
  traffic?: Traffic,
): number | undefined {
  const points = profile.sharedCacheBandwidths ?? [];
  const reach = Math.max(profile.sharedCacheBytes ?? 0, ...points.map((p) => p.bytes));
  if (bytes > reach) return undefined;
  const below = points.filter((p) => p.bytes <= bytes).at(-1) ?? points[0];
  if (below === undefined) return profile.sharedCacheBandwidthPerCore;
  return mixBandwidth(traffic, below);
}

/**
 * Roofline bound of a program: the larger of compute time and compulsory-traffic time.
 * Measurements repeat the kernel on warm caches, so the memory term only applies when
 * the compulsory data does not fit the private caches of the cores used, and data that
 * fits the shared last-level cache streams from it at the bandwidth measured over that
 * much data, not from memory (a 24 MiB layernorm in a 32 MiB L3 beat the memory bound).
 * Every input is read once: row operators that sweep a row several times keep it in L1
 * or L2 between sweeps, so the compulsory traffic is their floor too.
 */
export function rooflineSeconds(
  flops: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
): number {
  return boundAt(flops, traffic, profile, threads, (bytes) =>
    coresBandwidth(bytes, traffic, profile, threads),
  );
}

/**
 * The larger of the compute time and the traffic's time at `bandwidth(bytes)`, bytes/s of
 * the cores together; no memory term for data the private caches of the cores hold.
 */
function boundAt(
  flops: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
  bandwidth: (bytes: number) => number,
): number {
  const compute = flops / (profile.peakFlopsPerCore * threads);
  const bytes = traffic.readBytes + traffic.writtenBytes;
  if (bytes <= profile.cacheBytesPerCore * threads) return compute;
  return Math.max(compute, bytes / bandwidth(bytes));
}

/**
 * What `threads` cores stream together over `bytes`: `threads` times one core's, but never
 * more than all the machine's cores were measured to move together (they share the memory
 * and the shared cache); from as many threads as the calibration ran, that measurement
 * itself, even where it beats one core's times the threads (two private caches hold twice
 * as much). Profiles before version 9 have one core's figures only.
 */
function coresBandwidth(
  bytes: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
): number {
  const linear = threads * coreBandwidth(bytes, traffic, profile);
  const all = profile.allCores;
  if (threads === 1 || all === undefined) return linear;
  const view: MachineProfile = {
    ...profile,
    ...all,
    sharedCacheBandwidths: all.sharedCacheBandwidths,
    sharedCacheBandwidthPerCore: undefined,
  };
  const together = all.threads * coreBandwidth(bytes, traffic, view);
  return threads >= all.threads ? together : Math.min(linear, together);
}

/** The bandwidth of one core (or each of the cores the profile's figures were taken on). */
function coreBandwidth(bytes: number, traffic: Traffic, profile: MachineProfile): number {
  // A triad over data beyond the shared cache may run below the memory stream's bandwidth.
  // Beyond an unreported cache's ladder (128 MiB, far past any L3), the top rung still
  // bounds: bandwidth only falls with the footprint, and the rung is timed more often than
  // the memory's 3 runs, which a busy neighbour can slow (Zen 5 VM: 30 to 38 GB/s).
  const top = (profile.sharedCacheBandwidths ?? []).at(-1)?.bytes ?? 0;
  return Math.max(
    sharedCacheBandwidth(bytes, profile, traffic) ?? 0,
    top >= UNKNOWN_SHARED_REACH ? (sharedCacheBandwidth(top, profile, traffic) ?? 0) : 0,
    streamBandwidth(traffic, profile),
  );
}

/** Whether the memory, not the arithmetic, sets the bound of a program on `threads` cores. */
export function memoryBound(
  flops: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
): boolean {
  const compute = flops / (profile.peakFlopsPerCore * threads);
  return rooflineSeconds(flops, traffic, profile, threads) > compute;
}

/**
 * The bandwidth (bytes/s) the bound gives a kernel with this traffic on `threads` cores
 * together, from streams per core over its footprint (stream-beside.ts measures them).
 */
export function footprintBandwidth(
  traffic: Traffic,
  streams: StreamFigures,
  threads: number,
): number {
  return threads * mixBandwidth(traffic, streams);
}

/**
 * The roofline bound with the memory as fast as streams timed over the kernel's own
 * footprint, on its own cores, right before and after it ran (`streams`, per core), instead
 * of as fast as it was at calibration: the same rule as rooflineSeconds otherwise.
 */
export function rooflineSecondsBeside(
  flops: number,
  traffic: Traffic,
  profile: MachineProfile,
  threads: number,
  streams: StreamFigures,
): number {
  return boundAt(flops, traffic, profile, threads, () =>
    footprintBandwidth(traffic, streams, threads),
  );
}

/** What the CLI and the report print when a time beats its bound. */
export const ABOVE_BOUND =
  "above the calibrated bound (bound is wrong; recalibrate with colt measure <workload> --recalibrate)";

/**
 * A measured time as a fraction of the bound, never above 1: a kernel faster than its
 * bound means the calibration is wrong, and the fraction would be meaningless.
 */
export function rooflineFraction(rooflineMs: number, ms: number): number | null {
  const fraction = rooflineMs / ms;
  return fraction <= 1 ? fraction : null;
}
