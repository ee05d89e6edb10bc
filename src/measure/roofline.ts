/**
 * The roofline bound of a program (the time no schedule can beat on this machine) and how
 * a measured time compares with it.
 */
import { UNKNOWN_SHARED_REACH, type MachineProfile } from "./profile.ts";

/** Compulsory memory traffic: every input read once, every output written once. */
export interface Traffic {
  readonly readBytes: number;
  readonly writtenBytes: number;
}

/**
 * The bandwidth a kernel with this traffic mix can reach. A triad writes a third of
 * what it moves; a kernel writing less is read-mostly and can stream at the read-only
 * bandwidth, which the triad underestimates (a matrix-vector product beat it by 40%).
 * A schedule may stream its stores past the caches (`stream_store`, x86), skipping the
 * write-allocate read, and reach the non-temporal triad (version 8; AMD Zen 5, memory:
 * 49 against 38 GB/s): that bounds every program where it was calibrated.
 */
export function streamBandwidth(traffic: Traffic, profile: MachineProfile): number {
  const copy = copyBandwidth(traffic, profile);
  if (copy !== undefined) return copy;
  const readOnly = profile.readBandwidthPerCore ?? profile.bandwidthPerCore;
  const ordinary = readMostly(traffic)
    ? Math.max(readOnly, profile.bandwidthPerCore)
    : profile.bandwidthPerCore;
  return Math.max(ordinary, profile.nonTemporalTriadPerCore ?? 0);
}

/**
 * A kernel that writes as much as it reads (a row operator: softmax, rmsnorm, layernorm)
 * streams no faster than a copy, ordinary or non-temporal, over as much data: the
 * triad's larger read share runs faster (Zen 5 VM over 32 MiB, both non-temporal: triad
 * 78, copy 74 GB/s). Undefined for other mixes, or where the copies were not calibrated
 * (profiles before version 8).
 */
function copyBandwidth(
  traffic: Traffic,
  point: { readonly copyBandwidthPerCore?: number; readonly nonTemporalCopyPerCore?: number },
): number | undefined {
  if (traffic.writtenBytes * 2 < traffic.readBytes + traffic.writtenBytes) return undefined;
  if (point.copyBandwidthPerCore === undefined) return undefined;
  return Math.max(point.copyBandwidthPerCore, point.nonTemporalCopyPerCore ?? 0);
}

/** Writes less than a triad does (a third of what it moves). */
function readMostly(traffic: Traffic): boolean {
  return traffic.writtenBytes * 3 < traffic.readBytes + traffic.writtenBytes;
}

/**
 * The bandwidth of one core over `bytes` of data repeated warm, partly or wholly in the
 * shared cache, or undefined beyond the largest calibrated footprint: the triad calibrated
 * at the largest footprint not above `bytes` (the bandwidth falls as the footprint grows,
 * so this one is never too low), the smallest footprint's below it, and for a version-4 or
 * 5 profile the triads it has, up to the shared cache's size. A read-mostly kernel streams
 * at the faster of the triad and the read-only stream calibrated there (version 7); and
 * any kernel may reach the non-temporal triad there (version 8).
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
  const copy = traffic && copyBandwidth(traffic, below);
  if (copy !== undefined) return copy;
  const readOnly = traffic && readMostly(traffic) ? (below.readBandwidthPerCore ?? 0) : 0;
  return Math.max(below.bandwidthPerCore, readOnly, below.nonTemporalTriadPerCore ?? 0);
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
  const compute = flops / (profile.peakFlopsPerCore * threads);
  const bytes = traffic.readBytes + traffic.writtenBytes;
  if (bytes <= profile.cacheBytesPerCore * threads) return compute;
  // A triad over data beyond the shared cache may run below the memory stream's bandwidth.
  // Beyond an unreported cache's ladder (128 MiB, far past any L3), the top rung still
  // bounds: bandwidth only falls with the footprint, and the rung is timed more often than
  // the memory's 3 runs, which a busy neighbour can slow (Zen 5 VM: 30 to 38 GB/s).
  const top = (profile.sharedCacheBandwidths ?? []).at(-1)?.bytes ?? 0;
  const bandwidth = Math.max(
    sharedCacheBandwidth(bytes, profile, traffic) ?? 0,
    top >= UNKNOWN_SHARED_REACH ? (sharedCacheBandwidth(top, profile, traffic) ?? 0) : 0,
    streamBandwidth(traffic, profile),
  );
  return Math.max(compute, bytes / (bandwidth * threads));
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
