/** `colt export`: the best kernel as a .c/.h pair that compiles and runs without COLT. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";

const cache = mkdtempSync(join(tmpdir(), "colt-export-"));
const env = { COLT_CACHE_DIR: cache };

const MAIN = `
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "colt_matmul.h"
int main(void) {
  enum { M = 64, N = 48, K = 40 };
  float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *C = malloc(sizeof(float) * M * N);
  for (int i = 0; i < M * K; i++) A[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
  for (int i = 0; i < K * N; i++) B[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
  float *ws = aligned_alloc(64, ((colt_workspace_floats(1) * sizeof(float) + 63) / 64 + 1) * 64);
  colt_kernel(A, B, C, ws);
  double worst = 0;
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double ref = 0;
      for (int k = 0; k < K; k++) ref += (double)A[i * K + k] * B[k * N + j];
      double d = fabs(ref - C[i * N + j]);
      if (d > worst) worst = d;
    }
  printf("%g\\n", worst);
  return worst < 1e-3 ? 0 : 1;
}
`;

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
    expect(h).toContain(
      "void colt_kernel(const float* restrict A, const float* restrict B, float* restrict C, float* restrict colt_ws);",
    );
    expect(readFileSync(join(out, "colt_matmul.sched"), "utf8")).toBe(s.bestTrace);
    writeFileSync(join(out, "main.c"), MAIN);
    const exe = join(out, "check");
    execFileSync(
      "cc",
      [
        "-O2",
        "-march=native",
        "-fopenmp",
        "-Wall",
        "-Werror=implicit-function-declaration",
        "-o",
        exe,
        join(out, "main.c"),
        join(out, "colt_matmul.c"),
        "-lm",
      ],
      { cwd: out },
    );
    expect(Number(execFileSync(exe, { encoding: "utf8" }).trim())).toBeLessThan(1e-3);
    // By workload: the best known schedule of that shape.
    const byWorkload = colt(["export", "matmul", ...shape, "--out", join(cache, "w")], env);
    expect(byWorkload.code, byWorkload.stderr).toBe(0);
    expect(readFileSync(join(cache, "w", "colt_matmul.c"), "utf8")).toContain(
      '#include "colt_matmul.h"',
    );
  });

  it("rejects what is neither a run nor a workload in one line", () => {
    const r = colt(["export", "nothing-like-this"], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      "colt: 'nothing-like-this' is neither a run id in the tuning database, a run directory, nor a workload (see 'colt runs', 'colt workloads')",
    );
  });
});
