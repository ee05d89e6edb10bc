/**
 * The memory as fast as it streams now: the calibration's streams (triad, read, copy, and
 * with non-temporal stores) over a kernel's own footprint, on its own cores, timed right
 * before and right after the kernel. A bound calibrated once cannot follow a virtual
 * machine whose memory runs a third to a half slower for tens of minutes at a time (AMD
 * EPYC Zen 5 VM: a two-thread rmsnorm took 312-343 us, then 544-601 us twenty minutes
 * later, nothing else running); the fraction of this bound does not move with it.
 */
import { footprintStreams, type BenchmarkRun, type StreamFigures } from "./profile.ts";
import type { Target } from "../target/target.ts";

export interface BesideRun<T> {
  readonly result: T;
  /** Each core's share of the streams, the faster of the two timings per stream. */
  readonly streams: StreamFigures;
}

/**
 * Runs `timed` between two timings of the streams over `bytes` on `run.threads` cores
 * (pinned to `run.cpus`, the kernel's), and returns its result with the faster figures.
 */
export async function withStreamsBeside<T>(
  bytes: number,
  target: Target,
  run: BenchmarkRun,
  timed: () => Promise<T>,
): Promise<BesideRun<T>> {
  const [before] = await footprintStreams([bytes], target, run);
  const result = await timed();
  const [after] = await footprintStreams([bytes], target, run);
  return { result, streams: fasterStreams(before, after) };
}

/** Per stream the faster of two timings: the memory could do at least that much. */
function fasterStreams(a: StreamFigures, b: StreamFigures): StreamFigures {
  const max = (x: number | undefined, y: number | undefined) =>
    x === undefined || y === undefined ? undefined : Math.max(x, y);
  const optional = {
    readBandwidthPerCore: max(a.readBandwidthPerCore, b.readBandwidthPerCore),
    copyBandwidthPerCore: max(a.copyBandwidthPerCore, b.copyBandwidthPerCore),
    nonTemporalTriadPerCore: max(a.nonTemporalTriadPerCore, b.nonTemporalTriadPerCore),
    nonTemporalCopyPerCore: max(a.nonTemporalCopyPerCore, b.nonTemporalCopyPerCore),
  };
  return {
    bandwidthPerCore: Math.max(a.bandwidthPerCore, b.bandwidthPerCore),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
