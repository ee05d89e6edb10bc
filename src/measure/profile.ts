/**
 * Machine profile: peak FP32 FLOP/s per core (an FMA micro-benchmark written to reach
 * the hardware peak: independent accumulator chains in the target's full-width vectors,
 * as many as its registers hold) and the two memory bandwidths kernels meet, over arrays
 * far larger than the caches: a read-only stream and a triad (reads and writes), the
 * triad also with non-temporal stores where the target has them.
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
export const PROFILE_VERSION = 8;

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
  /**
   * The same memory triad with the store of its output non-temporal (x86 `_mm512_stream_ps`,
   * `_mm256_stream_ps`), bytes/s: it skips the write-allocate read of the output, so a
   * kernel writing with streaming stores beats the ordinary triad (AMD Zen 5: 51 against
   * 38 GB/s), and its bound must know. Absent before version 8, and on targets without
   * non-temporal vector stores (AArch64).
   */
  readonly nonTemporalTriadPerCore?: number;
  /**
   * A copy (one read and one write stream: a row operator's mix) over as much, bytes/s,
   * and the same with non-temporal stores. A kernel writing as much as it reads is bound
   * by these, not by the triad, whose larger read share streams faster. Absent before
   * version 8; the non-temporal one also where the target has no such store.
   */
  readonly copyBandwidthPerCore?: number;
  readonly nonTemporalCopyPerCore?: number;
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
   * The same triad at several footprints from just above the private cache to twice the
   * shared one, smallest first: the bandwidth falls as the data fills the shared cache
   * (AMD EPYC Zen 4, 32 MiB L3: 98 GB/s up to 8 MiB, 57 GB/s over 24 MiB). Where the
   * shared cache's size is not reported (a virtual machine without sysfs cache entries),
   * a ladder of footprints up to UNKNOWN_SHARED_REACH instead: the cache is there all the
   * same, and the bound must know what it does. Absent before version 5.
   */
  readonly sharedCacheBandwidths?: readonly SharedCachePoint[];
  readonly calibratedAt: string;
}

/** The triad bandwidth of one core over `bytes` of data warm in the shared cache. */
export interface SharedCachePoint {
  readonly bytes: number;
  readonly bandwidthPerCore: number;
  /**
   * A read-only stream over as much data, bytes/s: read-mostly kernels (a matrix-vector
   * product's weight) reach it, above the triad. Absent before version 7.
   */
  readonly readBandwidthPerCore?: number;
  /**
   * The triad over as much data with non-temporal stores of its output: they write to
   * memory past the cache, slower than the triad on small footprints but faster on those
   * the cache no longer holds. Absent before version 8 and where the target has none.
   */
  readonly nonTemporalTriadPerCore?: number;
  /** The copies over as much data, as MachineProfile's (version 8). */
  readonly copyBandwidthPerCore?: number;
  readonly nonTemporalCopyPerCore?: number;
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
  return `${streamPrelude(lanes)}int main(void) {
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

/**
 * The non-temporal store of one full vector of the target, or undefined where it has none
 * COLT emits (AArch64's STNP is a hint on pairs of registers, not a streaming vector store).
 */
function nonTemporalStore(
  t: Target,
): { readonly intrinsic: string; readonly type: string } | undefined {
  if (t.isa.arch !== "x86_64") return undefined;
  if (t.isa.lanes === 16) return { intrinsic: "_mm512_stream_ps", type: "__m512" };
  if (t.isa.lanes === 8) return { intrinsic: "_mm256_stream_ps", type: "__m256" };
  return undefined;
}

/**
 * C of `nt_triad(a, b, c, n)`: the triad with `a` written by non-temporal vector stores
 * (n a multiple of the lanes, arrays 64-byte aligned), fenced so the time covers the stores
 * reaching memory; with the `vec` typedef. Empty where the target has no such store.
 */
function nonTemporalTriadSource(t: Target): string {
  const store = nonTemporalStore(t);
  if (store === undefined) return "";
  return `
#include <immintrin.h>
static void nt_triad(float* a, const float* b, const float* c, size_t n) {
  for (size_t i = 0; i < n; i += ${t.isa.lanes}) {
    vec x = *(const vec*)(b + i) + 0.5f * *(const vec*)(c + i);
    ${store.intrinsic}(a + i, (${store.type})x);
  }
  _mm_sfence();
}`;
}

/**
 * C of `copy(a, b, n)` (a = b / 2: one read and one write stream, the mix of a row operator)
 * and, where the target has non-temporal stores, `nt_copy` with them; with `vec`.
 */
function copySource(t: Target): string {
  const store = nonTemporalStore(t);
  const lanes = t.isa.lanes;
  return `
static void copy(float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; i += ${lanes}) *(vec*)(a + i) = *(const vec*)(b + i) * 0.5f;
}${
    store === undefined
      ? ""
      : `
static void nt_copy(float* a, const float* b, size_t n) {
  for (size_t i = 0; i < n; i += ${lanes}) ${store.intrinsic}(a + i, (${store.type})(*(const vec*)(b + i) * 0.5f));
  _mm_sfence();
}`
  }`;
}

/** Includes, the `vec` type of the target's lanes and a clock: what the micro-benchmarks start with. */
function streamPrelude(lanes: number): string {
  return `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
${vectorTypedefs(lanes).join("\n")}
typedef ${vecType(lanes)} vec;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
`;
}

/**
 * The memory triad and copy over arrays far larger than the caches; where the target has
 * non-temporal stores, then both with them. Prints "triad copy [nt-triad nt-copy] sink".
 */
function bandwidthSource(t: Target): string {
  const nt = nonTemporalStore(t) !== undefined;
  return `${streamPrelude(t.isa.lanes)}${nonTemporalTriadSource(t)}${copySource(t)}
/* The best of 3 runs of body, which moves \`moved\` bytes. */
#define BEST_OF_3(bw, moved, body) bw = 0; for (int trial = 0; trial < 3; trial++) { double t0 = now(); body; double x = (moved) / (now() - t0); if (x > bw) bw = x; }
static void triad(float* a, const float* b, const float* c, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
}
int main(void) {
  size_t n = (size_t)32 << 20; /* 3 x 128 MiB: far beyond any cache */
  float* a = aligned_alloc(64, n * 4); float* b = aligned_alloc(64, n * 4); float* c = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = (float)i; c[i] = 1.0f; }
  double bw;
  BEST_OF_3(bw, 3.0 * n * 4, triad(a, b, c, n)); /* read b, c; write a */
  printf("%.6e ", bw);
  BEST_OF_3(bw, 2.0 * n * 4, copy(a, b, n)); /* read b; write a */
  printf("%.6e ", bw);${
    nt
      ? `
  BEST_OF_3(bw, 3.0 * n * 4, nt_triad(a, b, c, n)); /* without reading a first */
  printf("%.6e ", bw);
  BEST_OF_3(bw, 2.0 * n * 4, nt_copy(a, b, n));
  printf("%.6e ", bw);`
      : ""
  }
  printf("%f\\n", a[n / 2]);
  return 0;
}
`;
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
  const nonTemporal = nonTemporalStore(target) !== undefined;
  const [[bandwidth, copyBandwidth, nonTemporalTriad, nonTemporalCopy]] = await microBenchmarkRows(
    bandwidthSource(target),
    "memory bandwidth",
    compiler,
    cacheDir,
    [],
    1,
    nonTemporal ? 4 : 2,
  );
  const readBandwidth = await runMicroBenchmark(
    readBandwidthSource(target),
    "read bandwidth",
    compiler,
    cacheDir,
  );
  const sharedBytes = target.caches.sharedBytes;
  const privateBytes = target.caches.l2Bytes;
  const footprints = sharedCacheFootprints(sharedBytes, privateBytes);
  const sharedPoints =
    footprints.length > 0
      ? await sharedCacheBandwidths(footprints, target, compiler, cacheDir)
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
    copyBandwidthPerCore: copyBandwidth,
    ...(nonTemporal
      ? { nonTemporalTriadPerCore: nonTemporalTriad, nonTemporalCopyPerCore: nonTemporalCopy }
      : {}),
    cacheBytesPerCore: privateBytes,
    ...(sharedBytes > 0 && sharedBandwidth !== undefined
      ? { sharedCacheBytes: sharedBytes, sharedCacheBandwidthPerCore: sharedBandwidth }
      : {}),
    ...(sharedPoints !== undefined ? { sharedCacheBandwidths: sharedPoints } : {}),
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
  const [[value]] = await microBenchmarkRows(source, what, compiler, cacheDir, [], 1, 1);
  return value;
}

/**
 * Builds and runs a micro-benchmark alone on the last core with `args`, and returns the
 * first `columns` numbers of each of its `rows` output lines, all finite and positive (a
 * line's later numbers are sinks that keep the compiler from dropping the work).
 */
async function microBenchmarkRows(
  source: string,
  what: string,
  compiler: Compiler,
  cacheDir: string,
  args: readonly string[],
  rows: number,
  columns: number,
): Promise<number[][]> {
  const { binary } = await buildBinary(source, compiler, {
    cacheDir,
    subject: `${what} micro-benchmark`,
  });
  const r = await withMeasurementLock(cacheDir, () =>
    runBinary(binary, [...args], { timeoutMs: 120_000, cpus: String(cpus().length - 1) }),
  );
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/).slice(0, columns).map(Number));
  const valid = lines.every(
    (l) => l.length === columns && l.every((v) => Number.isFinite(v) && v > 0),
  );
  if (r.code !== 0 || lines.length !== rows || !valid) {
    throw new CandidateError(
      "bad-output",
      `${what} micro-benchmark failed: ${r.stderr.slice(0, 300)}`,
      what,
    );
  }
  return lines;
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

async function sharedCacheBandwidths(
  footprints: readonly number[],
  target: Target,
  compiler: Compiler,
  cacheDir: string,
): Promise<SharedCachePoint[]> {
  const rows = await microBenchmarkRows(
    cacheLadderSource(target),
    "shared cache bandwidths",
    compiler,
    cacheDir,
    footprints.map((b) => String(Math.floor(b))),
    footprints.length,
    nonTemporalStore(target) !== undefined ? 5 : 3,
  );
  return rows.map(
    (
      [
        bandwidthPerCore,
        readBandwidthPerCore,
        copyBandwidthPerCore,
        nonTemporalTriadPerCore,
        nonTemporalCopyPerCore,
      ],
      i,
    ) => ({
      bytes: footprints[i],
      bandwidthPerCore,
      readBandwidthPerCore,
      copyBandwidthPerCore,
      ...(nonTemporalTriadPerCore !== undefined
        ? { nonTemporalTriadPerCore, nonTemporalCopyPerCore }
        : {}),
    }),
  );
}

/**
 * Per footprint given on the command line (bytes), warm and repeated: a triad over three
 * arrays that fill it, a read-only stream over all of it, a copy over two halves of it,
 * then, where the target has non-temporal stores, the triad and the copy with them (last:
 * they evict the output from the cache). Prints "triad read copy [nt-triad nt-copy] sink"
 * per footprint, in bytes/s. One binary for the
 * whole ladder: one build, one start.
 */
function cacheLadderSource(t: Target): string {
  const lanes = t.isa.lanes;
  const nt = nonTemporalStore(t) !== undefined;
  return `${streamPrelude(lanes)}/* 200 repetitions, or a tenth of a second once 10 are done: the large footprints take long. */
#define REPEAT for (int trial = 0; trial < 200 && (trial < 10 || now() - start < 0.1); trial++)
/* The best bandwidth of body's repetitions, which move \`moved\` bytes each. */
#define BEST(bw, moved, body) bw = 0; start = now(); REPEAT { double t0 = now(); body; double x = (moved) / (now() - t0); if (x > bw) bw = x; }
${nonTemporalTriadSource(t)}${copySource(t)}
int main(int argc, char** argv) {
  for (int f = 1; f < argc; f++) {
    size_t bytes = strtoull(argv[f], 0, 10);
    size_t n = bytes / 12 / ${4 * lanes} * ${4 * lanes};
    float* buf = aligned_alloc(64, 3 * n * 4);
    float* a = buf; float* b = buf + n; float* c = buf + 2 * n;
    for (size_t i = 0; i < 3 * n; i++) buf[i] = (float)(i & 1023);
    double triad = 0, read = 0, start = now();
    REPEAT {
      double t0 = now();
      for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
      double bw = 3.0 * n * 4 / (now() - t0);
      if (bw > triad) triad = bw;
      b[trial % n] = a[(trial * 7) % n];
    }
    const vec* v = (const vec*)buf;
    size_t m = 3 * n / ${lanes};
    float sink = 0;
    start = now();
    REPEAT {
      /* Independent sums keep the loads, not the add latency, the limit. */
      vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
      double t0 = now();
      for (size_t i = 0; i < m; i += 4) { s0 += v[i]; s1 += v[i + 1]; s2 += v[i + 2]; s3 += v[i + 3]; }
      double bw = 3.0 * n * 4 / (now() - t0);
      if (bw > read) read = bw;
      vec s = s0 + s1 + s2 + s3;
      for (int l = 0; l < ${lanes}; l++) sink += s[l];
    }
    /* The copy over the same bytes: two arrays of half of them each. */
    size_t h = 3 * n / 2 / ${lanes} * ${lanes};
    double copied;
    BEST(copied, 2.0 * h * 4, copy(buf, buf + h, h));
    printf("%.6e %.6e %.6e ", triad, read, copied);${
      nt
        ? `
    double streamed, streamedCopy;
    BEST(streamed, 3.0 * n * 4, nt_triad(a, b, c, n));
    BEST(streamedCopy, 2.0 * h * 4, nt_copy(buf, buf + h, h));
    printf("%.6e %.6e ", streamed, streamedCopy);`
        : ""
    }
    printf("%f\\n", sink + a[n / 2]);
    free(buf);
  }
  return 0;
}
`;
}
