/**
 * Machine profile: peak FP32 FLOP/s per core (an FMA micro-benchmark written to reach
 * the hardware peak: many independent accumulator chains, 512-bit vectors) and the two
 * memory bandwidths kernels meet, over arrays far larger than the caches: a read-only
 * stream and a triad (reads and writes). Calibrated once per machine and compiler,
 * cached on disk.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { buildBinary } from "./build.ts";
import type { Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import { runBinary } from "./run.ts";
import { withMeasurementLock } from "./run-lock.ts";
import { ensureDir } from "../util/paths.ts";

/** Raised when what a profile holds changes, so profiles cached before are recalibrated. */
export const PROFILE_VERSION = 2;

export interface MachineProfile {
  /** PROFILE_VERSION at calibration; absent before version 2. */
  readonly version?: number;
  readonly cpuModel: string;
  readonly cores: number;
  readonly compiler: string;
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
  readonly calibratedAt: string;
}

const PEAK_SOURCE = `
#include <stdio.h>
#include <time.h>
typedef float v16 __attribute__((vector_size(64)));
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  /* 24 independent FMA chains hide the 4-cycle latency of two FMA ports. */
  v16 acc[24]; v16 a, b;
  for (int l = 0; l < 16; l++) { a[l] = 1.0f + 1e-7f * l; b[l] = 1.0f - 1e-7f * l; }
  for (int c = 0; c < 24; c++) acc[c] = a * (float)c;
  double best = 0;
  for (int trial = 0; trial < 7; trial++) {
    long iters = 4000000;
    double t0 = now();
    for (long i = 0; i < iters; i++) {
      __asm__ volatile("" : "+v"(a));
#pragma GCC unroll 24
      for (int c = 0; c < 24; c++) acc[c] = acc[c] * a + b;
    }
    double t = now() - t0;
    double flops = (double)iters * 24 * 16 * 2 / t;
    if (flops > best) best = flops;
  }
  float sink = 0; for (int c = 0; c < 24; c++) for (int l = 0; l < 16; l++) sink += acc[c][l];
  printf("%.6e %f\\n", best, sink);
  return 0;
}
`;

const READ_BANDWIDTH_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
typedef float v16 __attribute__((vector_size(64)));
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(void) {
  size_t n = (size_t)32 << 20; /* 128 MiB: far beyond any cache */
  float* f = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) f[i] = (float)(i & 1023);
  const v16* a = (const v16*)f;
  size_t m = n / 16;
  double best = 0; float sink = 0;
  for (int trial = 0; trial < 3; trial++) {
    /* Independent sums keep the loads, not the add latency, the limit. */
    v16 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    double t0 = now();
    for (size_t i = 0; i < m; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
    double t = now() - t0;
    v16 s = s0 + s1 + s2 + s3;
    for (int l = 0; l < 16; l++) sink += s[l];
    double bw = (double)n * 4 / t;
    if (bw > best) best = bw;
  }
  printf("%.6e %f\\n", best, sink);
  return 0;
}
`;

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
  const file = join(cacheDir, "machine-profile.json");
  const cpuModel = cpus()[0]?.model ?? "unknown CPU";
  if (!recalibrate && existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, "utf8")) as MachineProfile;
    const current =
      cached.version === PROFILE_VERSION &&
      cached.cpuModel === cpuModel &&
      cached.compiler === compiler.version;
    if (current) return cached;
  }
  const peak = await runMicroBenchmark(PEAK_SOURCE, "peak FLOP/s", compiler, cacheDir);
  const bandwidth = await runMicroBenchmark(
    BANDWIDTH_SOURCE,
    "memory bandwidth",
    compiler,
    cacheDir,
  );
  const readBandwidth = await runMicroBenchmark(
    READ_BANDWIDTH_SOURCE,
    "read bandwidth",
    compiler,
    cacheDir,
  );
  const profile: MachineProfile = {
    version: PROFILE_VERSION,
    cpuModel,
    cores: cpus().length,
    compiler: compiler.version,
    peakFlopsPerCore: peak,
    bandwidthPerCore: bandwidth,
    readBandwidthPerCore: readBandwidth,
    cacheBytesPerCore: privateCacheBytes(),
    calibratedAt: new Date().toISOString(),
  };
  ensureDir(cacheDir, "cache directory");
  writeFileSync(file, JSON.stringify(profile, null, 2) + "\n");
  return profile;
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

/** Largest per-core (unshared) data cache from sysfs; 1 MiB where sysfs does not say. */
function privateCacheBytes(): number {
  const base = "/sys/devices/system/cpu/cpu0/cache";
  if (!existsSync(base)) return 1024 * 1024;
  let best = 0;
  for (const entry of readdirSync(base).filter((e) => e.startsWith("index"))) {
    const read = (f: string) => {
      const file = join(base, entry, f);
      return existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    };
    if (read("type") === "Instruction") continue;
    const shared = read("shared_cpu_list");
    if (shared.includes(",") || shared.includes("-")) continue;
    const m = /^(\d+)([KMG]?)$/.exec(read("size"));
    if (!m) continue;
    const unit: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
    best = Math.max(best, Number(m[1]) * unit[m[2]]);
  }
  return best > 0 ? best : 1024 * 1024;
}
