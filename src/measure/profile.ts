/**
 * Machine profile: peak FP32 FLOP/s per core (an FMA micro-benchmark written to reach
 * the hardware peak) and the memory bandwidths kernels meet, over arrays far larger than
 * the caches and over a ladder of footprints warm in the shared cache: a read-only stream,
 * a triad and a copy, on x86 also with non-temporal stores; the streams once on one core
 * and once on all of them together (micro-benchmarks.ts has the C).
 * Calibrated once per machine, target and compiler, cached on disk.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { buildBinary } from "./build.ts";
import type { Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import {
  bandwidthSource,
  cacheLadderSource,
  nonTemporalStore,
  peakSource,
  readBandwidthSource,
} from "./micro-benchmarks.ts";
import { runBinary } from "./run.ts";
import { withMeasurementLock } from "./run-lock.ts";
import { ensureDir } from "../util/paths.ts";
import { TargetError } from "../target/errors.ts";
import { isEmulated, type Target } from "../target/target.ts";

/** Raised when what a profile holds changes, so profiles cached before are recalibrated. */
export const PROFILE_VERSION = 9;

/**
 * A memory stream's bandwidths, bytes/s per core, over arrays far larger than the caches
 * (MachineProfile's own) or over one footprint warm in the shared cache (SharedCachePoint).
 */
export interface StreamFigures {
  /** Reading and writing (a triad). */
  readonly bandwidthPerCore: number;
  /**
   * Streaming reads only: read-mostly kernels (a matrix-vector product) reach it, above
   * the triad. Absent before version 2 (version 7 for a footprint).
   */
  readonly readBandwidthPerCore?: number;
  /**
   * The triad with the store of its output non-temporal (x86 `_mm512_stream_ps`,
   * `_mm256_stream_ps`): it skips the write-allocate read of the output, so a kernel
   * writing with streaming stores beats the ordinary triad from memory (AMD Zen 5: 51
   * against 38 GB/s), and its bound must know; in the cache it is slower, since the stores
   * go past it. Absent before version 8, and on targets without non-temporal vector stores
   * (AArch64).
   */
  readonly nonTemporalTriadPerCore?: number;
  /**
   * A copy (one read and one write stream: a row operator's mix), and the same with
   * non-temporal stores. A kernel writing as much as it reads is bound by these, not by
   * the triad, whose larger read share streams faster. Absent before version 8; the
   * non-temporal one also where the target has no such store.
   */
  readonly copyBandwidthPerCore?: number;
  readonly nonTemporalCopyPerCore?: number;
}

/** The streams of one core over arrays far larger than the caches, and the machine. */
export interface MachineProfile extends StreamFigures {
  /** PROFILE_VERSION at calibration; absent before version 2. */
  readonly version?: number;
  readonly cpuModel: string;
  readonly cores: number;
  readonly compiler: string;
  /** The target the micro-benchmarks were built for; absent before version 3 (x86-avx512). */
  readonly target?: string;
  /** Peak FP32 FLOP/s of one core. */
  readonly peakFlopsPerCore: number;
  /** Private cache per core (largest level reported by sysfs, usually L2), bytes. */
  readonly cacheBytesPerCore: number;
  /**
   * The shared last-level cache (usually L3), bytes, and the triad bandwidth of one core
   * over data that fits it but not the private cache, bytes/s: repeated runs on data of
   * that size stream from it, not from memory. Absent before version 4, or without one.
   */
  readonly sharedCacheBytes?: number;
  readonly sharedCacheBandwidthPerCore?: number;
  /**
   * The same streams at several footprints from just above the private cache to twice the
   * shared one, smallest first: the bandwidth falls as the data fills the shared cache
   * (AMD EPYC Zen 4, 32 MiB L3: 98 GB/s up to 8 MiB, 57 GB/s over 24 MiB). Where the
   * shared cache's size is not reported (a virtual machine without sysfs cache entries),
   * a ladder of footprints up to UNKNOWN_SHARED_REACH instead: the cache is there all the
   * same, and the bound must know what it does. Absent before version 5.
   */
  readonly sharedCacheBandwidths?: readonly SharedCachePoint[];
  /**
   * The same memory streams and shared-cache ladder run by all `threads` cores at once,
   * each figure per core (together they move `threads` times as much). Cores share the
   * memory: on a 2-core AMD EPYC Zen 4 virtual machine two cores copied 42-46 GB/s from
   * memory where one copied 34, so a bound of twice one core's bandwidth was a third too
   * fast for them. Absent before version 9 and on one core.
   */
  readonly allCores?: AllCoresStreams;
  readonly calibratedAt: string;
}

/** The streams of `threads` cores together: MachineProfile.allCores. */
export interface AllCoresStreams extends StreamFigures {
  readonly threads: number;
  readonly sharedCacheBandwidths?: readonly SharedCachePoint[];
}

/** The streams of one core over `bytes` of data warm in the shared cache. */
export interface SharedCachePoint extends StreamFigures {
  readonly bytes: number;
}

export async function machineProfile(
  compiler: Compiler,
  cacheDir: string,
  recalibrate = false,
): Promise<MachineProfile> {
  const target = compiler.target;
  if (isEmulated(target))
    throw new TargetError(
      `${target.name} runs under an emulator here, so its peak and bandwidths cannot be measured; run on a ${target.name} machine`,
      target.name,
    );
  const file = profilePath(cacheDir, target.name);
  const cpuModel = cpus()[0]?.model ?? "unknown CPU";
  if (!recalibrate && existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as MachineProfile;
    const current =
      cached.version === PROFILE_VERSION &&
      cached.cpuModel === cpuModel &&
      cached.target === target.name &&
      cached.compiler === compiler.version;
    if (current) return cached;
  }
  const peak = await runMicroBenchmark(peakSource(target), "peak FLOP/s", compiler, cacheDir);
  const sharedBytes = target.caches.sharedBytes;
  const privateBytes = target.caches.l2Bytes;
  const footprints = sharedCacheFootprints(sharedBytes, privateBytes);
  const one = await streams(target, footprints, { compiler, cacheDir, threads: 1 });
  const cores = cpus().length;
  const all =
    cores > 1
      ? await streams(target, footprints, { compiler, cacheDir, threads: cores })
      : undefined;
  // Half the shared cache (at least 4 private caches): warm in it, never in the private one.
  const sharedBandwidth = one.sharedCacheBandwidths?.find(
    (p) => p.bytes >= sharedBytes / 2,
  )?.bandwidthPerCore;
  const profile: MachineProfile = {
    version: PROFILE_VERSION,
    cpuModel,
    cores,
    compiler: compiler.version,
    target: target.name,
    peakFlopsPerCore: peak,
    ...one,
    cacheBytesPerCore: privateBytes,
    ...(sharedBytes > 0 && sharedBandwidth !== undefined
      ? { sharedCacheBytes: sharedBytes, sharedCacheBandwidthPerCore: sharedBandwidth }
      : {}),
    ...(all !== undefined ? { allCores: { threads: cores, ...all } } : {}),
    calibratedAt: new Date().toISOString(),
  };
  ensureDir(cacheDir, "cache directory");
  writeFileSync(file, JSON.stringify(profile, null, 2) + "\n");
  return profile;
}

/** Where the profile of a target is cached. */
export function profilePath(cacheDir: string, target: string): string {
  return join(cacheDir, `machine-profile-${target}.json`);
}

/** Where and how a micro-benchmark is built and run. */
export interface BenchmarkRun {
  readonly compiler: Compiler;
  readonly cacheDir: string;
  /**
   * OpenMP threads, pinned to `cpus` (taskset's syntax), by default to the first cores; one
   * thread runs alone on the last core.
   */
  readonly threads: number;
  readonly cpus?: string;
}

/**
 * The memory streams and the shared-cache ladder run by `threads` cores at once, each
 * figure per core: what they move together over `threads`.
 */
async function streams(
  target: Target,
  footprints: readonly number[],
  run: BenchmarkRun,
): Promise<StreamFigures & { readonly sharedCacheBandwidths?: readonly SharedCachePoint[] }> {
  const nonTemporal = nonTemporalStore(target) !== undefined;
  const [[triad, copy, nonTemporalTriad, nonTemporalCopy]] = await microBenchmarkRows(
    bandwidthSource(target),
    "memory bandwidth",
    run,
    [],
    1,
    nonTemporal ? 4 : 2,
  );
  const [[read]] = await microBenchmarkRows(
    readBandwidthSource(target),
    "read bandwidth",
    run,
    [],
    1,
    1,
  );
  const ladder =
    footprints.length > 0 ? await footprintStreams(footprints, target, run) : undefined;
  return {
    ...perCore({ triad, read, copy, nonTemporalTriad, nonTemporalCopy }, run.threads),
    ...(ladder !== undefined ? { sharedCacheBandwidths: ladder } : {}),
  };
}

/**
 * Builds and runs a micro-benchmark with `args`, alone (under the measurement lock), and
 * returns the first `columns` numbers of each of its `rows` output lines, all finite and
 * positive (a line's later numbers are sinks that keep the compiler from dropping the work).
 */
async function microBenchmarkRows(
  source: string,
  what: string,
  run: BenchmarkRun,
  args: readonly string[],
  rows: number,
  columns: number,
): Promise<number[][]> {
  const { compiler, cacheDir, threads } = run;
  const { binary } = await buildBinary(source, compiler, {
    cacheDir,
    subject: `${what} micro-benchmark`,
  });
  const cores = run.cpus ?? (threads === 1 ? String(cpus().length - 1) : `0-${threads - 1}`);
  const r = await withMeasurementLock(cacheDir, () =>
    runBinary(binary, [...args], {
      timeoutMs: 120_000,
      cpus: cores,
      env: {
        ...process.env,
        OMP_NUM_THREADS: String(threads),
        OMP_PROC_BIND: "close",
        OMP_WAIT_POLICY: "active",
      },
    }),
  );
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).slice(0, columns).map(Number));
  const valid = lines.every(
    (l) => l.length === columns && l.every((v) => Number.isFinite(v) && v > 0),
  );
  if (r.code !== 0 || lines.length !== rows || !valid) {
    const on = threads === 1 ? "" : ` on ${threads} threads`;
    throw new CandidateError(
      "bad-output",
      `${what} micro-benchmark${on} failed: ${r.stderr.slice(0, 300)}`,
      what,
    );
  }
  return lines;
}

async function runMicroBenchmark(
  source: string,
  what: string,
  compiler: Compiler,
  cacheDir: string,
): Promise<number> {
  const [[value]] = await microBenchmarkRows(
    source,
    what,
    { compiler, cacheDir, threads: 1 },
    [],
    1,
    1,
  );
  return value;
}

/** How far the footprint ladder reaches when the shared cache's size is unknown. */
export const UNKNOWN_SHARED_REACH = 128 << 20;

/**
 * Footprints of the shared-cache triads: just above one private cache, 1/8, 1/4, 1/2 and
 * 3/4 of the shared cache, and once, 1.5 and twice its size: a kernel repeated on data
 * about as large as the shared cache finds part of it still there (an rmsnorm over 32 MiB
 * in a 32 MiB L3 beat the memory triad), and a triad over as much data, repeated the same
 * way, sees the same share. A shared cache under 8 private caches gets none. An unknown one
 * (size 0) gets a ladder: just above one private cache, then powers of two from twice it, and
 * 1.5 times each (the bound takes the point below a kernel's footprint), up to
 * UNKNOWN_SHARED_REACH, which covers any L3 of one CPU complex seen so far twice over
 * (an AMD EPYC Zen 5 virtual machine without sysfs cache entries: an rmsnorm over 32 MiB
 * ran 25% above the memory triad's bound).
 */
export function sharedCacheFootprints(sharedBytes: number, privateBytes: number): number[] {
  const first = 1.25 * privateBytes;
  if (sharedBytes <= 0) {
    const ladder = [first];
    for (let bytes = 2 * privateBytes; bytes <= UNKNOWN_SHARED_REACH; bytes *= 2)
      ladder.push(bytes, 1.5 * bytes);
    return ladder.filter((b) => b <= UNKNOWN_SHARED_REACH);
  }
  if (sharedBytes < 8 * privateBytes) return [];
  const fractions = [1 / 8, 1 / 4, 1 / 2, 3 / 4, 1, 1.5, 2].map((f) => f * sharedBytes);
  return [first, ...fractions.filter((b) => b > first)];
}

/**
 * The streams of `run.threads` cores together over each footprint, warm and repeated, each
 * figure per core: from the shared cache, or from memory for a footprint beyond it.
 */
export async function footprintStreams(
  footprints: readonly number[],
  target: Target,
  run: BenchmarkRun,
): Promise<SharedCachePoint[]> {
  const rows = await microBenchmarkRows(
    cacheLadderSource(target),
    "shared cache bandwidths",
    run,
    footprints.map((b) => String(Math.floor(b))),
    footprints.length,
    nonTemporalStore(target) !== undefined ? 5 : 3,
  );
  return rows.map(([triad, read, copy, nonTemporalTriad, nonTemporalCopy], i) => ({
    bytes: footprints[i],
    ...perCore({ triad, read, copy, nonTemporalTriad, nonTemporalCopy }, run.threads),
  }));
}

/**
 * What `threads` cores streamed together (bytes/s), as each one's share; the non-temporal
 * figures only where the target has such stores (measured).
 */
function perCore(
  streamed: {
    readonly triad: number;
    readonly read: number;
    readonly copy: number;
    readonly nonTemporalTriad?: number;
    readonly nonTemporalCopy?: number;
  },
  threads: number,
): StreamFigures {
  const { triad, read, copy, nonTemporalTriad, nonTemporalCopy } = streamed;
  return {
    bandwidthPerCore: triad / threads,
    readBandwidthPerCore: read / threads,
    copyBandwidthPerCore: copy / threads,
    ...(nonTemporalTriad !== undefined && nonTemporalCopy !== undefined
      ? {
          nonTemporalTriadPerCore: nonTemporalTriad / threads,
          nonTemporalCopyPerCore: nonTemporalCopy / threads,
        }
      : {}),
  };
}
