import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate, listWorkloads, SIZE_NAMES } from "../../src/workloads/registry.ts";
import { exampleSchedule, PROFILE, randomSchedules, sched } from "./support.ts";

const ms = (s: Schedule, threads = 1) => analyticEstimateMs(s, PROFILE, threads);

describe("analyticEstimateMs", () => {
  it("ranks the BLIS matmul-1024 schedule far above the unscheduled matmul", () => {
    const blis = ms(exampleSchedule("matmul-1024.sched", "matmul", "paper"));
    const plain = ms(sched("matmul", "", "paper"));
    expect(blis * 10).toBeLessThan(plain);
    // Within sight of the roofline: 2*1024^3 FLOP at 240 GFLOP/s is 8.9 ms.
    expect(blis).toBeGreaterThan(8.9);
    expect(blis).toBeLessThan(4 * 8.9);
  });

  it("ranks a vectorized contiguous inner loop above the same loop in scalar code", () => {
    // Unrolled scalar copies the compiler cannot pack (pointers lose `restrict` in OpenMP
    // regions; 16 accumulators carried across k) against one vector of 16 lanes.
    for (const prefix of ["parallel C.i; reorder C k j", "reorder C k j"]) {
      const nest = `${prefix}; split C.j 16 -> jo ji; reorder C jo k ji`;
      expect(ms(sched("matmul", `${nest}; vectorize C.ji`))).toBeLessThan(
        ms(sched("matmul", `${nest}; unroll C.ji`)) / 2,
      );
    }
    expect(
      ms(sched("matmul", "parallel C.i; reorder C k j; split C.j 16 -> jo ji; vectorize C.ji")),
    ).toBeLessThan(
      ms(sched("matmul", "parallel C.i; reorder C k j; split C.j 16 -> jo ji; unroll C.ji")) / 4,
    );
  });

  it("charges an inner loop that accumulates into the same elements on every outer iteration", () => {
    // Both run the conv's vectorized x loop 2560 times with the 3x3 window unrolled. With
    // the channel loop around it, each execution waits for the previous one's 9-step
    // accumulation chains (measured 20.7 us); with rows around it (channels unrolled
    // outside), executions are independent and overlap (measured 10.9 us).
    const independent = ms(
      sched("flux-conv", "reorder conv c x; unroll conv.c; unroll Y.y; reorder conv c y"),
    );
    const carried = ms(
      sched("flux-conv", "reorder conv c x; unroll conv.y; compute_at conv at Y.y"),
    );
    expect(carried).toBeGreaterThan(1.4 * independent);
  });

  it("prefers hardware-width vectors, register tiles and contiguous panels", () => {
    expect(
      ms(sched("matmul", "reorder C k j; split C.j 16 -> jo ji; vectorize C.ji")),
    ).toBeLessThan(ms(sched("matmul", "reorder C k j; vectorize C.j")));
    const nt = ms(exampleSchedule("batch-matmul-nt-small.sched", "batch-matmul-nt", "small"));
    expect(nt * 2).toBeLessThan(ms(sched("batch-matmul-nt", "")));
    expect(ms(exampleSchedule("matmul-small.sched", "matmul", "small"))).toBeLessThan(
      ms(sched("matmul", "")),
    );
  });

  it("credits whole-vector exp, which codegen emits as a polynomial, over scalar expf calls", () => {
    const scalar = ms(sched("flux-attention", "split exp_scores.t 8 -> to ti"));
    const vector = ms(
      sched("flux-attention", "split exp_scores.t 8 -> to ti; vectorize exp_scores.ti"),
    );
    expect(vector).toBeLessThan(scalar * 0.9);
  });

  it("charges memory traffic when the data outgrows the caches", () => {
    // k innermost at 1024: every B access is a new cache line, re-read for every row.
    const strided = sched("matmul", "", "paper");
    const contiguous = sched("matmul", "reorder C k j", "paper");
    expect(ms(contiguous)).toBeLessThan(ms(strided));
  });

  it("speeds up parallel loops with more threads, and only those", () => {
    const par = exampleSchedule("matmul-small.sched", "matmul", "small");
    expect(ms(par, 2)).toBeLessThan(ms(par, 1));
    const serial = sched("matmul", "reorder C k j");
    expect(ms(serial, 2)).toBe(ms(serial, 1));
  });

  it("prefers parts handed out dynamically on several threads, by a little", () => {
    const rows = [
      "split sum_sq.j 16 -> jo jl; cache_write sum_sq at i; vectorize sum_sq.jl",
      "split Y.j 16 -> jo jl; vectorize Y.jl; compute_at sum_sq at Y.i; stream_store Y",
    ].join("; ");
    const equal = sched("rmsnorm", `${rows}; parallel Y.i`, "paper");
    const dynamic = sched("rmsnorm", `${rows}; parallel Y.i dynamic 16`, "paper");
    expect(ms(dynamic, 2)).toBeLessThan(ms(equal, 2));
    expect(ms(dynamic, 2)).toBeGreaterThan(0.9 * ms(equal, 2));
    expect(ms(dynamic, 1)).toBe(ms(equal, 1));
    // A GEMM's column parts as well.
    const parts = "split C.j 64 -> jp jn; reorder C jp i jn k";
    const gemm = sched("matmul", `${parts}; parallel C.jp`, "paper");
    const gemmDynamic = sched("matmul", `${parts}; parallel C.jp dynamic 1`, "paper");
    expect(ms(gemmDynamic, 2)).toBeLessThan(ms(gemm, 2));
  });

  it("charges equal parts only their own share of the kernel", () => {
    // The MLP's GEMMs handed out dynamically; sharing its small SiLU product in equal parts
    // must not cost the whole layer the equal parts' imbalance.
    const gemms = ["gate_proj", "up_proj", "Y"]
      .map((s) => {
        const [rows, cols] = s === "Y" ? ["t", "h"] : ["t", "f"];
        return `split ${s}.${cols} 256 -> ${cols}p ${cols}r; reorder ${s} ${cols}p ${rows} ${cols}r; parallel ${s}.${cols}p dynamic 1`;
      })
      .join("; ");
    const act = "split act.f 16 -> fo fv; vectorize act.fv";
    const serial = sched("llama4-scout-mlp", `${gemms}; ${act}`, "paper");
    const shared = sched("llama4-scout-mlp", `${gemms}; ${act}; parallel act.t`, "paper");
    expect(ms(shared, 2)).toBeLessThan(ms(serial, 2));
  });

  it("is finite and positive for every workload and for random legal traces", () => {
    for (const w of listWorkloads()) {
      for (const size of SIZE_NAMES) {
        const v = ms(Schedule.initial(instantiate(w.name, size)));
        expect(Number.isFinite(v) && v > 0).toBe(true);
      }
    }
    for (const s of randomSchedules("matmul", 8, 11)) {
      const v = ms(s);
      expect(Number.isFinite(v) && v > 0).toBe(true);
    }
  });

  it("counts a pipelined loop's first and last steps once, and overlaps its rows' work", () => {
    // Paper size: 32768 rows, far more steps than the conditions can be enumerated over.
    const rows = [
      "split exps.j 16 -> jo jl; vectorize exps.jl; split Y.j 16 -> jo jl; vectorize Y.jl",
      "compute_at row_max at exps.i; compute_at row_sum at Y.i; compute_at exps at Y.i",
    ].join("; ");
    const plain = ms(sched("softmax", rows, "paper"));
    const pipelined = ms(sched("softmax", `${rows}; pipeline Y.i`, "paper"));
    // Three copies of the body, one run per step: not three times the work.
    expect(pipelined).toBeLessThan(plain);
    expect(pipelined).toBeGreaterThan(0.7 * plain);
  });
});
