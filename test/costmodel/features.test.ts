import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyticEstimateMs } from "../../src/costmodel/analytic.ts";
import { extractFeatures, FEATURE_COUNT, FEATURE_NAMES } from "../../src/costmodel/features.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate, listWorkloads } from "../../src/workloads/registry.ts";
import { exampleSchedule, PROFILE, randomSchedules, sched } from "./support.ts";

const feature = (f: readonly number[], name: string) => {
  const i = FEATURE_NAMES.findIndex((n) => n === name);
  if (i < 0) throw new Error(`no feature '${name}'`);
  return f[i];
};

function expectWellFormed(f: readonly number[]) {
  expect(f).toHaveLength(FEATURE_COUNT);
  for (const x of f) expect(Number.isFinite(x)).toBe(true);
}

describe("extractFeatures", () => {
  it("documents every entry with a distinct name", () => {
    expect(FEATURE_NAMES.length).toBe(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
  });

  it("has a fixed length and finite entries for every workload (small, unscheduled)", () => {
    for (const w of listWorkloads()) {
      const s = Schedule.initial(instantiate(w.name, "small"));
      expectWellFormed(extractFeatures(s, PROFILE));
      const ms = analyticEstimateMs(s, PROFILE);
      expect(Number.isFinite(ms) && ms > 0).toBe(true);
    }
  });

  it("has a fixed length and finite entries for every example schedule (small)", () => {
    const files = readdirSync(new URL("../../examples/schedules/", import.meta.url)).filter((f) =>
      f.endsWith("-small.sched"),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const s = exampleSchedule(file, file.replace(/-small\.sched$/, ""), "small");
      expectWellFormed(extractFeatures(s, PROFILE));
    }
  });

  it("has a fixed length and finite entries for random legal traces", () => {
    for (const [w, seed] of [
      ["matmul", 1],
      ["softmax", 2],
      ["conv2d", 3],
      ["layernorm", 4],
    ] as const) {
      for (const s of randomSchedules(w, 6, seed)) {
        expectWellFormed(extractFeatures(s, PROFILE));
        expectWellFormed(extractFeatures(s, PROFILE, 2));
      }
    }
  });

  it("is deterministic", () => {
    const a = extractFeatures(sched("matmul", "split C.i 8 -> io ii; parallel C.io"), PROFILE);
    const b = extractFeatures(sched("matmul", "split C.i 8 -> io ii; parallel C.io"), PROFILE);
    expect(a).toEqual(b);
  });

  it("sees vectorization, register accumulation, packing and parallelism", () => {
    const blis = extractFeatures(exampleSchedule("matmul-small.sched", "matmul", "small"), PROFILE);
    const plain = extractFeatures(sched("matmul", ""), PROFILE);
    expect(feature(blis, "fraction of work in explicit vector loops")).toBeGreaterThan(0.5);
    expect(feature(plain, "fraction of work in explicit vector loops")).toBe(0);
    expect(feature(blis, "work-weighted log2 vector width (explicit vector loops)")).toBe(4);
    expect(feature(blis, "fraction of work storing into register accumulators")).toBeGreaterThan(
      0.5,
    );
    expect(feature(plain, "fraction of work storing into register accumulators")).toBe(0);
    expect(feature(blis, "number of pack / cache_read buffers")).toBe(2);
    expect(feature(blis, "log2 trip count of the largest parallel loop")).toBeCloseTo(
      Math.log2(3),
      9,
    );
    expect(feature(plain, "log2 trip count of the largest parallel loop")).toBe(0);
    expect(
      feature(blis, "work-weighted log2 unrolled copies in the innermost loop body"),
    ).toBeGreaterThan(2);
  });

  it("classifies innermost-loop strides", () => {
    // k innermost: A[i,k] contiguous, B[k,j] strided, the accumulator C[i,j] invariant.
    const f = extractFeatures(sched("matmul", ""), PROFILE);
    expect(feature(f, "fraction of reads strided along the innermost loop")).toBeCloseTo(1 / 3, 6);
    expect(feature(f, "fraction of reads invariant along the innermost loop")).toBeCloseTo(
      1 / 3,
      6,
    );
    // j innermost: B and C contiguous, A invariant.
    const g = extractFeatures(sched("matmul", "reorder C k j"), PROFILE);
    expect(feature(g, "fraction of reads strided along the innermost loop")).toBe(0);
    expect(feature(g, "work-weighted log2 stride of strided reads (elements)")).toBe(0);
    expect(feature(f, "work-weighted log2 stride of strided reads (elements)")).toBeCloseTo(
      Math.log2(65),
      6,
    );
  });

  it("counts guarded tails", () => {
    const f = extractFeatures(sched("softmax", "split row_max.i 8 -> io ii"), PROFILE);
    expect(feature(f, "number of guards (ifs and guarded trip counts)")).toBeGreaterThan(0);
    expect(feature(f, "fraction of work under guards (tails)")).toBeGreaterThan(0);
    const g = extractFeatures(sched("softmax", ""), PROFILE);
    expect(feature(g, "fraction of work under guards (tails)")).toBe(0);
  });
});
