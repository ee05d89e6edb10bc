/**
 * The C micro-benchmarks that calibrate a machine profile (profile.ts): the FMA peak of
 * one core, and the memory streams (read-only, triad, copy, on x86 also with non-temporal
 * stores) over arrays far larger than the caches and over a ladder of footprints warm in
 * the shared cache. The streams split their arrays between OpenMP threads (static
 * schedule), so one binary measures one core (OMP_NUM_THREADS=1) or all of them: cores
 * share the memory and the shared cache, and two do not stream twice what one does.
 */
import { vecType, vectorTypedefs } from "../target/gnu-vectors.ts";
import type { Target } from "../target/target.ts";

/** Accumulator chains the peak benchmark keeps in flight (two registers hold its operands). */
const peakChains = (t: Target) => Math.min(24, t.isa.registers - 2);

export function peakSource(t: Target): string {
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

export function readBandwidthSource(t: Target): string {
  const lanes = t.isa.lanes;
  return `${streamPrelude(lanes)}int main(void) {
  size_t n = (size_t)32 << 20; /* 128 MiB: far beyond any cache */
  float* f = aligned_alloc(64, n * 4);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) f[i] = (float)(i & 1023);
  double best = 0; float sink = 0;
  for (int trial = 0; trial < 3; trial++) {
    double t0 = now();
    sink += read_sum((const vec*)f, n / ${lanes});
    double bw = (double)n * 4 / (now() - t0);
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
export function nonTemporalStore(
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
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i += ${t.isa.lanes}) {
      vec x = *(const vec*)(b + i) + 0.5f * *(const vec*)(c + i);
      ${store.intrinsic}(a + i, (${store.type})x);
    }
    _mm_sfence();
  }
}`;
}

/**
 * C of `triad(a, b, c, n)` (a = b + c / 2: two read streams and one write), `copy(a, b, n)`
 * (a = b / 2: one read and one write stream, the mix of a row operator) and, where the
 * target has non-temporal stores, `nt_triad` and `nt_copy` with them; with `vec`.
 */
function streamKernelsSource(t: Target): string {
  const store = nonTemporalStore(t);
  const lanes = t.isa.lanes;
  return `${nonTemporalTriadSource(t)}
static void triad(float* a, const float* b, const float* c, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) a[i] = b[i] + 0.5f * c[i];
}
static void copy(float* a, const float* b, size_t n) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i += ${lanes}) *(vec*)(a + i) = *(const vec*)(b + i) * 0.5f;
}${
    store === undefined
      ? ""
      : `
static void nt_copy(float* a, const float* b, size_t n) {
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i += ${lanes}) ${store.intrinsic}(a + i, (${store.type})(*(const vec*)(b + i) * 0.5f));
    _mm_sfence();
  }
}`
  }`;
}

/**
 * Includes, the `vec` type of the target's lanes, a clock and `read_sum(v, m)` (the sum of
 * m vectors, the read-only stream): what the stream micro-benchmarks start with.
 */
function streamPrelude(lanes: number): string {
  return `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
${vectorTypedefs(lanes).join("\n")}
typedef ${vecType(lanes)} vec;
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static float read_sum(const vec* v, size_t m) {
  float sum = 0;
#pragma omp parallel
  {
    /* Independent sums keep the loads, not the add latency, the limit. */
    vec s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
#pragma omp for schedule(static)
    for (size_t i = 0; i < m; i += 4) { s0 += v[i]; s1 += v[i + 1]; s2 += v[i + 2]; s3 += v[i + 3]; }
    vec s = s0 + s1 + s2 + s3;
    float part = 0;
    for (int l = 0; l < ${lanes}; l++) part += s[l];
#pragma omp atomic
    sum += part;
  }
  return sum;
}
`;
}

/**
 * The memory triad and copy over arrays far larger than the caches; where the target has
 * non-temporal stores, then both with them. Prints "triad copy [nt-triad nt-copy] sink".
 */
export function bandwidthSource(t: Target): string {
  const nt = nonTemporalStore(t) !== undefined;
  return `${streamPrelude(t.isa.lanes)}${streamKernelsSource(t)}
/* The best of 3 runs of body, which moves \`moved\` bytes. */
#define BEST_OF_3(bw, moved, body) bw = 0; for (int trial = 0; trial < 3; trial++) { double t0 = now(); body; double x = (moved) / (now() - t0); if (x > bw) bw = x; }
int main(void) {
  size_t n = (size_t)32 << 20; /* 3 x 128 MiB: far beyond any cache */
  float* a = aligned_alloc(64, n * 4); float* b = aligned_alloc(64, n * 4); float* c = aligned_alloc(64, n * 4);
#pragma omp parallel for schedule(static)
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

/**
 * Per footprint given on the command line (bytes), warm and repeated: a triad over three
 * arrays that fill it, a read-only stream over all of it, a copy over two halves of it,
 * then, where the target has non-temporal stores, the triad and the copy with them (last:
 * they evict the output from the cache). Prints "triad read copy [nt-triad nt-copy] sink"
 * per footprint, in bytes/s. One binary for the
 * whole ladder: one build, one start.
 */
export function cacheLadderSource(t: Target): string {
  const lanes = t.isa.lanes;
  const nt = nonTemporalStore(t) !== undefined;
  return `${streamPrelude(lanes)}/* 200 repetitions, or a tenth of a second once 10 are done: the large footprints take long. */
#define REPEAT for (int trial = 0; trial < 200 && (trial < 10 || now() - start < 0.1); trial++)
/* The best bandwidth of body's repetitions, which move \`moved\` bytes each. */
#define BEST(bw, moved, body) bw = 0; start = now(); REPEAT { double t0 = now(); body; double x = (moved) / (now() - t0); if (x > bw) bw = x; }
${streamKernelsSource(t)}
int main(int argc, char** argv) {
  for (int f = 1; f < argc; f++) {
    size_t bytes = strtoull(argv[f], 0, 10);
    size_t n = bytes / 12 / ${4 * lanes} * ${4 * lanes};
    float* buf = aligned_alloc(64, 3 * n * 4);
    float* a = buf; float* b = buf + n; float* c = buf + 2 * n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < 3 * n; i++) buf[i] = (float)(i & 1023);
    double triaded = 0, read = 0, start = now();
    REPEAT {
      double t0 = now();
      triad(a, b, c, n);
      double bw = 3.0 * n * 4 / (now() - t0);
      if (bw > triaded) triaded = bw;
      b[trial % n] = a[(trial * 7) % n];
    }
    float sink = 0;
    start = now();
    REPEAT {
      double t0 = now();
      sink += read_sum((const vec*)buf, 3 * n / ${lanes});
      double bw = 3.0 * n * 4 / (now() - t0);
      if (bw > read) read = bw;
    }
    /* The copy over the same bytes: two arrays of half of them each. */
    size_t h = 3 * n / 2 / ${lanes} * ${lanes};
    double copied;
    BEST(copied, 2.0 * h * 4, copy(buf, buf + h, h));
    printf("%.6e %.6e %.6e ", triaded, read, copied);${
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
