/**
 * The roofline bound of a program (the time no schedule can beat on this machine) and how
 * a measured time compares with it.
 */
import type { MachineProfile } from "./profile.ts";

/** Compulsory memory traffic: every input read once, every output written once. */
export interface Traffic {
  readonly readBytes: number;
  readonly writtenBytes: number;
}

/**
 * The bandwidth a kernel with this traffic mix can reach. A triad writes a third of
 * what it moves; a kernel writing less is read-mostly and can stream at the read-only
 * bandwidth, which the triad underestimates (a matrix-vector product beat it by 40%).
 */
export function streamBandwidth(traffic: Traffic, profile: MachineProfile): number {
  const total = traffic.readBytes + traffic.writtenBytes;
  const readMostly = traffic.writtenBytes * 3 < total;
  const readOnly = profile.readBandwidthPerCore ?? profile.bandwidthPerCore;
  return readMostly ? Math.max(readOnly, profile.bandwidthPerCore) : profile.bandwidthPerCore;
}

/**
 * Roofline bound of a program: the larger of compute time and compulsory-traffic time.
 * Measurements repeat the kernel on warm caches, so the memory term only applies when
 * the compulsory data does not fit the private caches of the cores used.
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
  return Math.max(compute, bytes / (streamBandwidth(traffic, profile) * threads));
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
