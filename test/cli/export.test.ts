/** `colt export`: the best kernel as a .c/.h pair that compiles and runs without COLT. */
import { resolveTarget } from "../../src/target/detect.ts";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exportKernel } from "../../src/cli/commands/export.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-export-");
const env = { COLT_CACHE_DIR: cache };

/** A tiny main for the exported matmul; `call` runs the kernel on A, B into C with workspace ws. */
const main = (call: string) => `
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "colt_matmul.h"
static float* aligned_floats(size_t n) {
  return aligned_alloc(64, ((n * sizeof(float) + 63) / 64 + 1) * 64);
}
int main(void) {
  enum { M = 64, N = 48, K = 40 };
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
  for (int i = 0; i < M * K; i++) A[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
  for (int i = 0; i < K * N; i++) B[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
  float *ws = aligned_floats(colt_workspace_floats(1));
  ${call}
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double ref = 0;
      for (int k = 0; k < K; k++) ref += (double)A[i * K + k] * B[k * N + j];
      double d = fabs(ref - C[i * N + j]);
      if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
  printf("%g\\n", worst);
  return worst < 1e-3 ? 0 : 1;
}
`;
const MAIN = main("colt_kernel(A, B, C, ws);");
/** With B prepared: the caller allocates the block, fills it once, and passes it instead of B. */
const MAIN_PREPARED = main(`float *prepared = aligned_floats(colt_prepared_floats());
  float *W = malloc(sizeof(float) * K * N);
  for (int e = 0; e < K * N; e++) W[e] = B[e];
  colt_prepare(W, prepared);
  for (int e = 0; e < K * N; e++) W[e] = NAN; /* prepared once: the weight itself is not read again */
  colt_kernel(A, C, prepared, ws);`);

/** Compiles main.c with the exported kernel in `dir` and returns the worst deviation it prints. */
function compileAndRun(dir: string, source: string): number {
  writeFileSync(join(dir, "main.c"), source);
  const exe = join(dir, "check");
  execFileSync(
    "cc",
    [
      "-O2",
      ...resolveTarget().toolchain.nativeArchFlags,
      "-fopenmp",
      "-Wall",
      "-Werror=implicit-function-declaration",
      "-o",
      exe,
      join(dir, "main.c"),
      join(dir, "colt_matmul.c"),
      "-lm",
    ],
    { cwd: dir },
  );
  return Number(execFileSync(exe, { encoding: "utf8" }).trim());
}

describe("colt export", () => {
  it("writes a .c and .h that compile with cc and a tiny main, plus the trace", () => {
    const shape = ["--shape", "M=64,N=48,K=40"];
    const tuned = colt(
      ["tune", "matmul", ...shape, "--trials", "4", "--min-ms", "5", "--json"],
      env,
    );
    expect(tuned.code, tuned.stderr).toBe(0);
    const s = JSON.parse(tuned.stdout) as { run: string; bestTrace: string };
    const out = join(cache, "exported");
    const r = colt(["export", s.run, "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`from run ${s.run}`);
    const h = readFileSync(join(out, "colt_matmul.h"), "utf8");
    expect(h).toContain("A[64][40]");
    // The search may find a schedule that prepares B (covered on its own below).
    const prepared = s.bestTrace.includes("prepare B");
    expect(h).toContain(
      prepared
        ? "void colt_kernel(const float* restrict A, float* restrict C, const float* restrict colt_prepared, float* restrict colt_ws);"
        : "void colt_kernel(const float* restrict A, const float* restrict B, float* restrict C, float* restrict colt_ws);",
    );
    expect(readFileSync(join(out, "colt_matmul.sched"), "utf8")).toBe(s.bestTrace);
    expect(compileAndRun(out, prepared ? MAIN_PREPARED : MAIN)).toBeLessThan(1e-3);
    // By workload: the best known schedule of that shape.
    const byWorkload = colt(["export", "matmul", ...shape, "--out", join(cache, "w")], env);
    expect(byWorkload.code, byWorkload.stderr).toBe(0);
    expect(readFileSync(join(cache, "w", "colt_matmul.c"), "utf8")).toContain(
      '#include "colt_matmul.h"',
    );
  });

  it("exports a prepared weight: colt_prepare documented in the .h, compiled and checked", () => {
    const program = instantiate("matmul", "small", { M: 64, N: 48, K: 40 });
    const trace = [
      "tile C.i C.j 32 32 -> ic jr i1 j2",
      "split C.k 16 -> kc k1",
      "split C.j2 16 -> jv jl",
      "reorder C kc ic jr i1 k1 jv jl",
      "prepare B in C",
      "cache_write C at i1",
      "unroll C.jv",
      "vectorize C.jl",
      "",
    ].join("\n");
    const files = exportKernel(
      program,
      "matmul",
      { trace, ms: 0.01, gflops: 10, runId: "test-run" },
      1,
      "colt_matmul",
      resolveTarget(),
    );
    expect(files.h).toContain("size_t colt_prepared_floats(void);");
    expect(files.h).toContain(
      "void colt_prepare(const float* restrict B, float* restrict colt_prepared);",
    );
    expect(files.h).toContain(
      "void colt_kernel(const float* restrict A, float* restrict C, const float* restrict colt_prepared, float* restrict colt_ws);",
    );
    expect(files.h).toMatch(/once after[^]*loading the weights, colt_prepare\(B, block\)/);
    const dir = join(cache, "prepared");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "colt_matmul.c"), files.c);
    writeFileSync(join(dir, "colt_matmul.h"), files.h);
    expect(compileAndRun(dir, MAIN_PREPARED)).toBeLessThan(1e-3);
  });

  it("rejects what is neither a run nor a workload in one line", () => {
    const r = colt(["export", "nothing-like-this"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "colt: 'nothing-like-this' is neither a run id in the tuning database, a run directory, nor a workload (see 'colt runs', 'colt workloads')",
    );
  });
});
