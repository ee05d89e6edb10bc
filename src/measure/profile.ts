/**
 * Machine profile: peak FP32 FLOP/s per core (an FMA micro-benchmark written to reach
 * the hardware peak: independent accumulator chains in the target's full-width vectors,
 * as many as its registers hold) and the two memory bandwidths kernels meet, over arrays
 * far larger than the caches: a read-only stream and a triad (reads and writes).
 * Calibrated once per machine, target and compiler, cached on disk.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { buildBinary } from "./build.ts";
import type { Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import { runBinary } from "./run.ts";
import { withMeasurementLock } from "./run-lock.ts";
import { ensureDir } from "../util/paths.ts";
import { TargetError } from "../target/errors.ts";
import { vecType, vectorTypedefs } from "../target/gnu-vectors.ts";
import { isEmulated, type Target } from "../target/target.ts";

/** Raised when what a profile holds changes, so profiles cached before are recalibrated. */
export const PROFILE_VERSION = 6;

export interface MachineProfile {
  /** PROFILE_VERSION at calibration; absent before version 2. */
  readonly version?: number;
  readonly cpuModel: string;
  readonly cores: number;
  readonly compiler: string;
  /** The target the micro-benchmarks were built for; absent before version 3 (x86-avx512). */
  readonly target?: string;
  /** Peak FP32 FLOP/s of one core. */
  readonly peakFlopsPerCore: number;
  /** Sustained memory bandwidth of one core reading and writing (a triad), bytes/s. */
  readonly bandwidthPerCore: number;
  /**
   * Sustained bandwidth of one core streaming reads only, bytes/s: read-mostly kernels
   * (a matrix-vector product) reach it, above the triad. Absent before version 2.
   */
  readonly readBandwidthPerCore?: number;
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
   * The same triad at several footprints from just above the private cache to 3/4 of the
   * shared one, smallest first: the bandwidth falls as the data fills the shared cache
   * (AMD EPYC Zen 4, 32 MiB L3: 98 GB/s up to 8 MiB, 57 GB/s over 24 MiB). Absent before
   * version 5.
   */
  readonly sharedCacheBandwidths?: readonly SharedCachePoint[];
  readonly calibratedAt: string;
}

/** The triad bandwidth of one core over `bytes` of data warm in the shared cache. */
export interface SharedCachePoint {
  readonly bytes: number;
  readonly bandwidthPerCore: number;
}

/** Accumulator chains the peak benchmark keeps in flight (two registers hold its operands). */
const peakChains = (t: Target) => Math.min(24, t.isa.registers - 2);

function peakSource(t: Target): string {
  const lanes = t.isa.lanes;
  const chains = peakChains(t);
  return `
#include <stdio.h>
#include <time.h>
${vectorTypedefs(lanes).join("\n")}
typedef ${vecType(lanes)} vec;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  /* Independent FMA chains hide the FMA latency on every port. */
  vec acc[${chains}]; vec a, b;
  for (int l = 0; l < ${lanes}; l++) { a[l] = 1.0f + 1e-7f * l; b[l] = 1.0f - 1e-7f * l; }
  for (int c = 0; c < ${chains}; c++) acc[c] = a * (float)c;
  double best = 0;
  for (int trial = 0; trial < 7; trial++) {
    long iters = 4000000;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
      __asm__ volatile("" : "+${t.isa.asmVectorConstraint}"(a));
#pragma GCC unroll ${chains}
      for (int c = 0; c < ${chains}; c++) acc[c] = acc[c] * a + b;
    }
    double t = now() - t0;
    double flops = (double)iters * ${chains} * ${lanes} * 2 / t;
    if (flops > best) best = flops;
  }
  float sink = 0; for (int c = 0; c < ${chains}; c++) for (int l = 0; l < ${lanes}; l++) sink += acc[c][l];
  printf("%.6e %f\\n", best, sink);
  return 0;
}
`;
}

function readBandwidthSource(t: Target): string {
  const lanes = t.isa.lanes;
  return `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
${vectorTypedefs(lanes).join("\n")}
typedef ${vecType(lanes)} vec;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  size_t n = (size_t)32 << 20; /* 128 MiB: far beyond any cache */
  float* f = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) f[i] = (float)(i & 1023);
  const vec* a = (const vec*)f;
  size_t m = n / ${lanes};
  double best = 0; float sink = 0;
  for (int trial = 0; trial < 3; trial++) {
    /* Independent sums keep the loads, not the add latency, the limit. */
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    double t0 = now();
    for (size_t i = 0; i < m; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    double t = now() - t0;
    vec s = s0 + s1 + s2 + s3;
    for (int l = 0; l < ${lanes}; l++) sink += s[l];
    double bw = (double)n * 4 / t;
    if (bw > best) best = bw;
  }
  printf("%.6e %f\\n", best, sink);
  return 0;
}
`;
}

const BANDWIDTH_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  size_t n = (size_t)32 << 20; /* 3 x 128 MiB: far beyond any cache */
  float* a = aligned_alloc(64, n * 4); float* b = aligned_alloc(64, n * 4); float* c = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = (float)i; c[i] = 1.0f; }
  double best = 0;
  for (int trial = 0; trial < 3; trial++) {
    double t0 = now();
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
    double t = now() - t0;
    double bw = 3.0 * n * 4 / t; /* read b, c; write a */
    if (bw > best) best = bw;
  }
  printf("%.6e %f\\n", best, a[n / 2]);
  return 0;
}
`;

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
  const bandwidth = await runMicroBenchmark(
    BANDWIDTH_SOURCE,
    "memory bandwidth",
    compiler,
    cacheDir,
  );
  const readBandwidth = await runMicroBenchmark(
    readBandwidthSource(target),
    "read bandwidth",
    compiler,
    cacheDir,
  );
  const sharedBytes = target.caches.sharedBytes;
  const privateBytes = target.caches.l2Bytes;
  const sharedPoints =
    sharedBytes >= 8 * privateBytes
      ? await sharedCacheBandwidths(sharedBytes, privateBytes, compiler, cacheDir)
      : undefined;
  // Half the shared cache (at least 4 private caches): warm in it, never in the private one.
  const sharedBandwidth = sharedPoints?.find((p) => p.bytes >= sharedBytes / 2)?.bandwidthPerCore;
  const profile: MachineProfile = {
    version: PROFILE_VERSION,
    cpuModel,
    cores: cpus().length,
    compiler: compiler.version,
    target: target.name,
    peakFlopsPerCore: peak,
    bandwidthPerCore: bandwidth,
    readBandwidthPerCore: readBandwidth,
    cacheBytesPerCore: privateBytes,
    ...(sharedBandwidth !== undefined
      ? {
          sharedCacheBytes: sharedBytes,
          sharedCacheBandwidthPerCore: sharedBandwidth,
          sharedCacheBandwidths: sharedPoints,
        }
      : {}),
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

async function runMicroBenchmark(
  source: string,
  what: string,
  compiler: Compiler,
  cacheDir: string,
): Promise<number> {
  const { binary } = await buildBinary(source, compiler, {
    cacheDir,
    subject: `${what} micro-benchmark`,
  });
  const r = await withMeasurementLock(cacheDir, () =>
    runBinary(binary, [], { timeoutMs: 120_000, cpus: String(cpus().length - 1) }),
  );
  const value = Number(r.stdout.trim().split(/\s+/)[0]);
  if (r.code !== 0 || !Number.isFinite(value) || value <= 0) {
    throw new CandidateError(
      "bad-output",
      `${what} micro-benchmark failed: ${r.stderr.slice(0, 300)}`,
      what,
    );
  }
  return value;
}

/**
 * Footprints of the shared-cache triads: just above one private cache, 1/8, 1/4, 1/2 and
 * 3/4 of the shared cache, and once, 1.5 and twice its size: a kernel repeated on data
 * about as large as the shared cache finds part of it still there (an rmsnorm over 32 MiB
 * in a 32 MiB L3 beat the memory triad), and a triad over as much data, repeated the same
 * way, sees the same share.
 */
function sharedCacheFootprints(sharedBytes: number, privateBytes: number): number[] {
  const fractions = [1 / 8, 1 / 4, 1 / 2, 3 / 4, 1, 1.5, 2].map((f) => f * sharedBytes);
  return [1.25 * privateBytes, ...fractions.filter((b) => b > 1.25 * privateBytes)];
}

async function sharedCacheBandwidths(
  sharedBytes: number,
  privateBytes: number,
  compiler: Compiler,
  cacheDir: string,
): Promise<SharedCachePoint[]> {
  const points: SharedCachePoint[] = [];
  for (const bytes of sharedCacheFootprints(sharedBytes, privateBytes)) {
    const n = Math.floor(bytes / 3 / 4);
    const bandwidthPerCore = await runMicroBenchmark(
      cacheTriadSource(n),
      `shared cache bandwidth over ${Math.round(bytes / 2 ** 20)} MiB`,
      compiler,
      cacheDir,
    );
    points.push({ bytes, bandwidthPerCore });
  }
  return points;
}

/** A triad over three arrays of `n` floats each, warm in cache, repeated: bytes/s. */
function cacheTriadSource(n: number): string {
  return `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  size_t n = ${n};
  float* a = aligned_alloc(64, n * 4); float* b = aligned_alloc(64, n * 4); float* c = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = (float)i; c[i] = 1.0f; }
  double best = 0;
  for (int trial = 0; trial < 200; trial++) {
    double t0 = now();
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
    double t = now() - t0;
    double bw = 3.0 * n * 4 / t;
    if (bw > best) best = bw;
    b[trial % n] = a[(trial * 7) % n];
  }
  printf("%.6e %f\\n", best, a[n / 2]);
  return 0;
}
`;
}
