import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-cli-");
const env = { COLT_CACHE_DIR: cache };

describe("colt command", () => {
  it("lists workloads as JSON with their weights, sizes and FLOP counts", () => {
    const r = colt(["workloads", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as {
      name: string;
      weights: string[];
      sizes: { small: { flops: number } };
    }[];
    expect(rows.map((w) => w.name)).toContain("llama3-8b-attention");
    expect(rows.find((w) => w.name === "matmul")!.sizes.small.flops).toBe(2 * 64 * 64 * 64);
    const weights = Object.fromEntries(rows.map((w) => [w.name, w.weights]));
    expect(weights["llama4-scout-mlp"]).toEqual(["Wg", "Wu", "Wd"]);
    expect(weights["deepseek-r1-moe"]).toEqual(["Wr", "W1", "W3", "W2"]);
    expect(weights["flux-conv"]).toEqual(["Wt", "bias"]);
    expect(weights["llama3-8b-attention"]).toEqual([]);
  });

  it("shows which inputs are weights, their prepared layout and the prepare move", () => {
    const file = join(cache, "p.sched");
    writeFileSync(file, "split C.j 16 -> jo ji\nreorder C jo k ji\nprepare B in C\n");
    const r = colt(["show", "matmul", "--shape", "M=10,N=48,K=7", "--schedule", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("input A: float32[10, 7]\n");
    expect(r.stdout).toContain("input B: float32[7, 48] (weight)\n");
    expect(r.stdout).toContain("prepared C_B_prep: float32[3, 7, 16]\n");
    expect(r.stdout).toContain("# prepare: once, before the timed runs");
    expect(r.stdout).toContain("C_B_prep[C.jo, C.k, C.ji] = B[C.k, C.jo*16 + C.ji]");
    const moves = colt(["show", "matmul", "--shape", "M=10,N=48,K=7", "--moves"]);
    expect(moves.stdout).toMatch(/^prepare B in C$/m);
    expect(moves.stdout).not.toMatch(/^prepare A in C$/m);
  });

  it("accepts --size medium and lists the medium shapes with their footprint", () => {
    const r = colt(["show", "matmul", "--size", "medium"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("for C.j in 0..1024");
    const list = colt(["workloads"]);
    expect(list.stdout).toMatch(/^ {4}medium M=64,N=1024,K=1024 {2}134\.22 MFLOP, 4\.50 MiB$/m);
    const bad = colt(["show", "matmul", "--size", "large"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("sizes: small, medium, paper");
  });

  it("shows a scheduled loop nest and the legal next moves", () => {
    const file = join(cache, "t.sched");
    writeFileSync(file, "# tile it\nsplit C.j 16 -> jo ji\nreorder C jo k ji\nvectorize C.ji\n");
    const r = colt(["show", "matmul", "--shape", "M=10,N=48,K=7", "--schedule", file, "--moves"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("vectorized(16) for C.ji in 0..16:");
    expect(r.stdout).toContain("# legal next transformations");
    expect(r.stdout).toMatch(/^split C\.i \d+ -> io ii$/m);
  });

  it("measures a schedule and prints JSON", () => {
    const file = join(cache, "m.sched");
    writeFileSync(file, "split C.j 16 -> jo ji\nreorder C jo k ji\nvectorize C.ji\nparallel C.i\n");
    const r = colt(
      ["measure", "matmul", "--schedule", file, "--threads", "2", "--min-ms", "20", "--json"],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(m).toMatchObject({
      workload: "matmul",
      size: "small",
      verified: true,
      status: "ok",
      threads: 2,
    });
    expect(m.ms).toBeGreaterThan(0);
    expect(m.gflops).toBeGreaterThan(0);
    expect(m.peakFraction).toBeGreaterThan(0);
  });

  it("times the memory's streams around a memory-bound kernel and bounds it by them", () => {
    // 8 MiB through two cores' private caches: the memory (or the shared cache) sets the bound.
    const args = ["measure", "rmsnorm", "--shape", "rows=512,cols=2048", "--min-ms", "20"];
    const r = colt([...args, "--threads", "2", "--json"], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as {
      ms: number;
      boundBeside: {
        bandwidthGBs: number;
        calibratedBandwidthGBs: number;
        rooflineMs: number;
        rooflineFraction: number | null;
      } | null;
    };
    const beside = m.boundBeside!;
    expect(beside.bandwidthGBs).toBeGreaterThan(0.1);
    expect(beside.calibratedBandwidthGBs).toBeGreaterThan(0.1);
    expect(beside.rooflineMs).toBeCloseTo((8 * 2 ** 20 + 8192) / beside.bandwidthGBs / 1e6, 6);
    if (beside.rooflineFraction !== null)
      expect(beside.rooflineFraction).toBeCloseTo(beside.rooflineMs / m.ms, 9);
    const text = colt(args, env);
    expect(text.stdout).toMatch(
      /^ {2}memory {4}streamed [\d.]+ GB\/s around this run \([\d.]+ at calibration\): bound /m,
    );
    // A compute-bound kernel (the matmul in its caches) is not given one.
    const compute = colt(["measure", "matmul", "--min-ms", "20", "--json"], env);
    expect(JSON.parse(compute.stdout)).toMatchObject({ boundBeside: null });
  });

  it("names the known workloads when the workload is unknown", () => {
    const r = colt(["show", "matmull"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("unknown workload 'matmull'");
    expect(r.stderr).toContain("matmul, batch-matmul");
  });

  it("points at the file, line and reason of a bad schedule", () => {
    const file = join(cache, "bad.sched");
    writeFileSync(file, "split C.i 8\nvectorise C.ii\n");
    const r = colt(["show", "matmul", "--schedule", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:line 2: unknown transformation 'vectorise'`);
    writeFileSync(file, "split C.i 8\nvectorize C.ii\n");
    const r2 = colt(["show", "matmul", "--schedule", file]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(
      "step 2: stage C, loop ii: only the innermost loop can be vectorized",
    );
  });

  it("rejects bad shapes and says which parameters exist", () => {
    const r = colt(["show", "matmul", "--shape", "Q=3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Q/);
    expect(r.stderr).toMatch(/M, N, K/);
  });

  it("says what to install when there is no C compiler", () => {
    const r = colt(["measure", "matmul"], { ...env, CC: "/nonexistent/cc" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no C compiler found");
    expect(r.stderr).toContain("apt-get install gcc");
  });
});

describe("colt measure --blas", () => {
  it("refuses workloads that are not matmul-shaped, with one line", () => {
    const r = colt(["measure", "softmax", "--blas"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "--blas times cblas_sgemm, which only matches matmul and batch-matmul",
    );
  });
});
