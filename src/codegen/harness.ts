/**
 * The measurement harness `main`, appended to a kernel and complete on its own from
 * HARNESS_START on (its includes and the kernel's prototypes), so the build compiles it
 * apart from the kernel once per program and links it to each candidate
 * (measure/build.ts). Protocol (driven by measure/):
 *
 *   ./kernel [--seed S] [--threads T] [--out FILE] [--time] [--warmup N] [--min-ms X] [--min-reps N] [--max-reps N]
 *
 * Inputs are filled with the seeded stream of ir/random-inputs.ts; outputs are poisoned
 * with NaN before the checked run so an element the kernel forgets shows up as wrong.
 * Prepared weights are poisoned with NaN too, then filled once by the prepare function,
 * timed on its own: the kernel runs (checked and timed) read what it left.
 * --out writes the outputs (raw little-endian fp32, in kernel order). --time prints one
 * JSON line: {"reps":N,"times_ms":[...]}, plus "prepare_ms":X when weights are prepared.
 * A kernel whose checked run took a second or more is timed by that run alone unless
 * --min-ms asks for more.
 */
import { elementCount } from "../ir/footprint.ts";
import {
  KERNEL_NAME,
  PREPARE_NAME,
  PREPARED_FN,
  WORKSPACE_FN,
  type KernelSource,
} from "./c-kernel.ts";

/** The line the harness starts with: what follows is a translation unit of its own. */
export const HARNESS_START =
  "/* colt: the measurement harness, compiled apart from the kernel from here on */";

export function emitHarness(k: KernelSource): string {
  const all = [...k.inputs, ...k.outputs];
  // Exact element counts: a float product rounds past 2^53 and prints as `1.6e+28u` past 10^21.
  const size = (shape: readonly number[]) => elementCount(shape).toString();
  const bufferOf = (name: string) => `colt_buf${all.findIndex((t) => t.name === name)}`;
  const alloc = all
    .map((t, i) => `  float* colt_buf${i} = colt_alloc(${size(t.shape)}u); /* ${t.name} */`)
    .join("\n");
  const fill = k.inputs
    .map((t, i) => `  colt_fill(colt_buf${i}, ${size(t.shape)}u, seed, ${i}u);`)
    .join("\n");
  const poison = k.outputs
    .map(
      (t, i) =>
        `  for (size_t e = 0; e < ${size(t.shape)}u; e++) colt_buf${k.inputs.length + i}[e] = NAN;`,
    )
    .join("\n");
  const preparing = k.prepared.length > 0;
  const prepare = preparing
    ? [
        `  float* prepared = colt_alloc(${PREPARED_FN}());`,
        `  for (size_t e = 0; e < ${PREPARED_FN}(); e++) prepared[e] = NAN;`,
        "  double prepare_t0 = colt_now_ms();",
        `  ${PREPARE_NAME}(${[...k.preparedFrom.map(bufferOf), "prepared"].join(", ")});`,
        "  double prepare_ms = colt_now_ms() - prepare_t0;",
      ].join("\n")
    : "  double prepare_ms = -1.0;";
  const write = k.outputs
    .map(
      (t, i) => `    fwrite(colt_buf${k.inputs.length + i}, sizeof(float), ${size(t.shape)}u, f);`,
    )
    .join("\n");
  const args = [
    ...k.kernelInputs.map(bufferOf),
    ...k.outputs.map((t) => bufferOf(t.name)),
    ...(preparing ? ["prepared"] : []),
  ];
  const call = `${KERNEL_NAME}(${[...args, "ws"].join(", ")})`;
  return `
${HARNESS_START}
#include <math.h>
#include <stddef.h>
#include <omp.h>
${k.declarations.join("\n")}
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif

static float* colt_alloc(size_t n) {
  size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
  float* p = aligned_alloc(64, bytes > 0 ? bytes : 64);
  if (!p) { fprintf(stderr, "colt harness: out of memory (%zu bytes)\\n", bytes); exit(3); }
  /* Fault a large buffer's pages in with one call: touched one by one they cost about
     10 us each in a virtual machine, most of a paper-size candidate's run. In huge pages
     where the kernel allows them (transparent huge pages in "madvise" mode): 4 KiB pages
     first touched in a process still cost about 5 us each in a virtual machine with
     shadow page tables, 1.3 s per GiB of inputs and prepared weights per candidate.
     ONNX Runtime and OpenBLAS get huge pages too (measure/huge-pages.ts). Hints only:
     Linux before 5.14 refuses the first, and the memset faults the pages in as before. */
  if (bytes >= ((size_t)2 << 20)) {
    uintptr_t first = (uintptr_t)p & ~(uintptr_t)4095;
    (void)madvise((void*)first, (uintptr_t)p + bytes - first, MADV_HUGEPAGE);
    (void)madvise((void*)first, (uintptr_t)p + bytes - first, MADV_POPULATE_WRITE);
  }
  memset(p, 0, bytes);
  return p;
}

static void colt_fill(float* p, size_t n, uint32_t seed, uint32_t index) {
  uint32_t x = (uint32_t)((seed ^ 0x9e3779b9u) * 2654435761u) + (index + 1u) * 40503u;
  if (x == 0) x = 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    p[i] = (float)((double)(x >> 8) * (2.0 / 16777216.0) - 1.0);
  }
}

static double colt_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

int main(int argc, char** argv) {
  uint32_t seed = 1; int threads = 1; const char* out = NULL; int timing = 0;
  int warmup = 1; double min_ms = 200.0; int min_reps = 3; int max_reps = 1000;
  for (int a = 1; a < argc; a++) {
    const char* v = a + 1 < argc ? argv[a + 1] : "";
    if (!strcmp(argv[a], "--seed")) { seed = (uint32_t)strtoul(v, NULL, 10); a++; }
    else if (!strcmp(argv[a], "--threads")) { threads = atoi(v); a++; }
    else if (!strcmp(argv[a], "--out")) { out = v; a++; }
    else if (!strcmp(argv[a], "--time")) { timing = 1; }
    else if (!strcmp(argv[a], "--warmup")) { warmup = atoi(v); a++; }
    else if (!strcmp(argv[a], "--min-ms")) { min_ms = atof(v); a++; }
    else if (!strcmp(argv[a], "--min-reps")) { min_reps = atoi(v); a++; }
    else if (!strcmp(argv[a], "--max-reps")) { max_reps = atoi(v); a++; }
    else { fprintf(stderr, "colt harness: unknown argument %s\\n", argv[a]); return 2; }
  }
  if (threads < 1) threads = 1;
  omp_set_num_threads(threads);
${alloc}
  float* ws = colt_alloc(${WORKSPACE_FN}(threads));
${fill}
${poison}
${prepare}
  double checked_ms = colt_now_ms();
  ${call};
  checked_ms = colt_now_ms() - checked_ms;
  if (out) {
    FILE* f = fopen(out, "wb");
    if (!f) { fprintf(stderr, "colt harness: cannot write %s\\n", out); return 4; }
${write}
    fclose(f);
  }
  if (timing) {
    /* A run of a second or more is its own timing: such a candidate (an unscheduled
       paper-size program, 3.7 s) is far from the best, a cold start is lost in its
       time, and a warm-up and three more runs of it would cost a tune seconds each. */
    double* times = malloc(sizeof(double) * (size_t)(max_reps > 0 ? max_reps : 1));
    double total = 0.0; int reps = 0;
    if (checked_ms >= 1000.0) {
      warmup = 0; min_reps = 1;
      if (checked_ms >= min_ms && max_reps > 0) { times[reps++] = checked_ms; total = checked_ms; }
    }
    for (int w = 0; w < warmup; w++) ${call};
    while (reps < max_reps && (reps < min_reps || total < min_ms)) {
      double t0 = colt_now_ms();
      ${call};
      double t = colt_now_ms() - t0;
      times[reps++] = t; total += t;
    }
    printf("{\\"reps\\":%d,\\"times_ms\\":[", reps);
    for (int r = 0; r < reps; r++) printf(r ? ",%.6f" : "%.6f", times[r]);
    printf("]");
    if (prepare_ms >= 0.0) printf(",\\"prepare_ms\\":%.6f", prepare_ms);
    printf("}\\n");
    free(times);
  }
  return 0;
}
`;
}
