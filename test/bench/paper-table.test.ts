import { describe, expect, it } from "vitest";
import { paperTable } from "../../bench/paper-table.ts";
import type { Comparison, SideTiming } from "../../src/compare/compare.ts";
import type { MachineProfile } from "../../src/measure/profile.ts";

const profile: MachineProfile = {
  cpuModel: "Test CPU 9000",
  cores: 2,
  compiler: "cc 12",
  peakFlopsPerCore: 100e9,
  bandwidthPerCore: 10e9,
  cacheBytesPerCore: 2 ** 20,
  calibratedAt: "2026-11-30",
};
const timing = (medianMs: number, gflops: number): SideTiming => ({
  medianMs,
  minMs: medianMs,
  spread: 0.01,
  reps: 5,
  gflops,
});

function comparison(
  workload: string,
  threads: number,
  openblas: SideTiming | null,
  executedFlops = 2e9,
): Comparison {
  return {
    workload,
    shape: {},
    threads,
    cpus: threads === 1 ? "1" : "0-1",
    flops: 2e9,
    executedFlops,
    colt: { ...timing(20, 100), error: 0 },
    ort: { ...timing(30, 66.7), error: 1e-7, version: "1.30.0" },
    openblas,
    ratio: 1.5,
    roundRatios: [1.5],
    minRatio: 1.25,
  };
}

const HEADER = {
  profile,
  compiler: "cc 12",
  ortVersion: "1.30.0",
  trials: 64,
  date: "2026-11-30",
  command: "npm run bench:paper",
};

describe("bench:paper table", () => {
  it("has the machine in the header and one row per workload and thread count", () => {
    const table = paperTable(HEADER, [
      comparison("matmul", 1, timing(25, 80)),
      comparison("softmax", 2, null),
    ]);
    expect(table).toContain("Test CPU 9000, 2 cores, calibrated peak 100 GFLOP/s per core");
    expect(table).toContain("COLT tuned 64 trials per row");
    expect(table).toContain(
      "| matmul | 1 | 20.0 | 30.0 | 25.0 | **1.50×** | 1.25× | – | 100.0 | 100% | – |",
    );
    // Two cores: the peak doubles, and softmax has no OpenBLAS column.
    expect(table).toContain(
      "| softmax | 2 | 20.0 | 30.0 | – | **1.50×** | 1.25× | – | 100.0 | 50% |",
    );
  });

  it("takes the share of the peak from the operations the kernel executes", () => {
    // A Winograd kernel: effective 100 GFLOP/s, but only 0.9 of the 2 GFLOP executed.
    const table = paperTable(HEADER, [comparison("flux-conv", 1, null, 0.9e9)]);
    expect(table).toContain(
      "| flux-conv | 1 | 20.0 | 30.0 | – | **1.50×** | 1.25× | – | 100.0 | 45% |",
    );
    expect(table).toContain("measured one after the other");
  });

  it("gives memory-bound rows their share of the calibrated bound and of the one beside them", () => {
    const row = {
      ...comparison("rmsnorm", 2, null),
      memoryBound: { calibrated: 0.624, beside: 0.912 },
    };
    const above = { ...row, memoryBound: { calibrated: 0.8, beside: null } };
    const table = paperTable(HEADER, [row, above]);
    expect(table).toContain("| 100.0 | 50% | 62% (91%) |\n");
    expect(table).toMatch(/\| 100\.0 \| 50% \| 80% \(above\) \|$/);
    expect(table).toContain("| % of peak | % of memory bound |");
    expect(table).toContain(
      "timed over the kernel's footprint on its cores right before and after",
    );
  });

  it("gives a many-thread row its speed over the one-thread schedule, measured side by side", () => {
    const t = timing(20, 100);
    const scaling = {
      threads: 2,
      ratio: 1.84,
      roundRatios: [1.8, 1.84, 1.9],
      oneThread: t,
      manyThreads: t,
      cpus: { oneThread: "1", manyThreads: "0-1" },
    };
    const table = paperTable(HEADER, [
      comparison("deepseek-r1-moe", 1, null),
      { ...comparison("deepseek-r1-moe", 2, null), scaling },
    ]);
    expect(table).toContain("| deepseek-r1-moe | 1 | 20.0 | 30.0 | – | **1.50×** | 1.25× | – |");
    expect(table).toContain(
      "| deepseek-r1-moe | 2 | 20.0 | 30.0 | – | **1.50×** | 1.25× | 1.84× |",
    );
    expect(table).toContain("| fastest | × 1 thread | COLT GFLOP/s |");
  });

  it("says when the sides alternated in rounds", () => {
    const row = { ...comparison("matmul", 1, null), roundRatios: [1.4, 1.5, 1.6] };
    expect(paperTable(HEADER, [row])).toContain(
      "alternating in 3 rounds (COLT / ORT: the median of the rounds' ratios)",
    );
  });
});
