/**
 * Optional external reference: OpenBLAS cblas_sgemm timed on the same shapes, where
 * OpenBLAS is installed (Debian: libopenblas-dev). Detected, never required.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary } from "./build.ts";
import { spawnCompilerSync, type Compiler } from "./compiler.ts";
import { CandidateError } from "./errors.ts";
import { parseTimes } from "./harness-output.ts";
import { withHugePages } from "./huge-pages.ts";
import { runBinary } from "./run.ts";
import { withMeasurementLock } from "./run-lock.ts";

const LINK = ["-lopenblas"];
const PROBE = `#include <cblas.h>\nint main(void) { float a = 1, b = 1, c = 0; cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1); return c == 1.0f ? 0 : 1; }\n`;

let available: boolean | undefined;

export function openBlasAvailable(compiler: Compiler): boolean {
  if (available !== undefined) return available;
  const dir = mkdtempSync(join(tmpdir(), "colt-blas-"));
  try {
    writeFileSync(join(dir, "probe.c"), PROBE);
    const built = spawnCompilerSync(compiler.argv, [
      join(dir, "probe.c"),
      "-o",
      join(dir, "probe"),
      ...LINK,
    ]);
    available =
      built.status === 0 && spawnSync(join(dir, "probe"), [], { stdio: "ignore" }).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return available;
}

/** Times `batch` row-major sgemms C[M,N] = A[M,K] B[K,N]; returns per-run times in ms. */
export async function timeSgemm(
  shape: { M: number; N: number; K: number; batch?: number },
  opts: { compiler: Compiler; cacheDir: string; threads: number; minMs: number; cpus?: string },
): Promise<number[]> {
  const { M, N, K } = shape;
  const batch = shape.batch ?? 1;
  const source = `
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec * 1e-6; }
int main(void) {
  openblas_set_num_threads(${opts.threads});
  size_t sa = (size_t)${M} * ${K}, sb = (size_t)${K} * ${N}, sc = (size_t)${M} * ${N};
  float* a = aligned_alloc(64, ((sa * ${batch} * 4 + 63) / 64) * 64);
  float* b = aligned_alloc(64, ((sb * ${batch} * 4 + 63) / 64) * 64);
  float* c = aligned_alloc(64, ((sc * ${batch} * 4 + 63) / 64) * 64);
  for (size_t i = 0; i < sa * ${batch}; i++) a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  for (size_t i = 0; i < sb * ${batch}; i++) b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
  double total = 0; int reps = 0; double times[1000];
  for (int r = -1; r < 1000 && (reps < 3 || total < ${opts.minMs}); r++) {
    double t0 = now_ms();
    for (int p = 0; p < ${batch}; p++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ${M}, ${N}, ${K}, 1.0f, a + p * sa, ${K}, b + p * sb, ${N}, 0.0f, c + p * sc, ${N});
    double t = now_ms() - t0;
    if (r >= 0) { times[reps++] = t; total += t; }
  }
  printf("{\\"times_ms\\":[");
  for (int r = 0; r < reps; r++) printf(r ? ",%.6f" : "%.6f", times[r]);
  printf("]}\\n");
  return 0;
}
`;
  const compiler = { ...opts.compiler, linkFlags: [...opts.compiler.linkFlags, ...LINK] };
  const { binary } = await buildBinary(source, compiler, {
    cacheDir: opts.cacheDir,
    subject: "OpenBLAS sgemm",
  });
  const r = await withMeasurementLock(opts.cacheDir, () =>
    runBinary(binary, [], {
      timeoutMs: 300_000,
      cpus: opts.cpus,
      env: withHugePages({ ...process.env, OPENBLAS_NUM_THREADS: String(opts.threads) }),
    }),
  );
  if (r.code !== 0)
    throw new CandidateError(
      "crash",
      `OpenBLAS run failed: ${r.stderr.slice(0, 300)}`,
      "OpenBLAS sgemm",
    );
  const times = parseTimes(r.stdout);
  if (!times)
    throw new CandidateError("bad-output", "OpenBLAS run printed no times", "OpenBLAS sgemm");
  return times;
}
