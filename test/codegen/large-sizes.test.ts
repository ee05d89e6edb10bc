import { describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { buildBinary } from "../../src/measure/build.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const source = (workload: string, shape: Record<string, number>) =>
  generateC(Schedule.initial(instantiate(workload, "small", shape)).lower()).source;

describe("C for large extents", () => {
  it("prints tensor sizes as exact integers, never in float notation", () => {
    const c = source("batch-matmul", {
      B: 2_000_000_000,
      M: 2_000_000_000,
      N: 2_000_000_000,
      K: 2_000_000_000,
    });
    expect(c).toContain("colt_alloc(8000000000000000000000000000u)");
    expect(c).not.toMatch(/\de\+\d/);
  });

  it("indexes with 64-bit loops once a tensor passes 2^31 elements, and compiles", async () => {
    const c = source("matmul", { M: 50000, N: 50000, K: 50000 });
    const kernel = c.slice(0, c.indexOf("int main("));
    expect(kernel).toContain("for (long long ");
    expect(kernel).not.toContain("for (int ");
    expect(c).toContain("colt_alloc(2500000000u)");
    const opts = freshEvalOptions();
    await expect(buildBinary(c, opts.compiler, { cacheDir: opts.cacheDir })).resolves.toBeDefined();
  });

  it("keeps 32-bit loops (and so the same code) for everyday sizes", () => {
    const c = source("matmul", { M: 64, N: 64, K: 64 });
    expect(c).toContain("for (int ");
    expect(c).not.toContain("long long");
  });
});
