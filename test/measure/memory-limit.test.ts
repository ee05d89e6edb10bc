import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WORKSPACE_FN } from "../../src/codegen/c-kernel.ts";
import { generateC } from "../../src/codegen/generate.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import {
  checkMemory,
  formatBytes,
  MemoryLimitError,
  MemorySizeError,
  parseMemorySize,
  resolveMemoryLimit,
} from "../../src/measure/memory-limit.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { colt } from "../support/cli.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const GB = 1000n ** 3n;

describe("memory limit", () => {
  it("computes tensor sizes exactly and names need and limit in the refusal", () => {
    const huge = instantiate("batch-matmul", "small", {
      B: 2_000_000_000,
      M: 2_000_000_000,
      N: 2_000_000_000,
      K: 2_000_000_000,
    });
    const limit = { bytes: 18n * GB, source: "machine" } as const;
    let refusal: unknown;
    try {
      checkMemory(huge, limit);
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(MemoryLimitError);
    // 3 tensors of 2e9^3 floats: exactly 9.6e28 bytes, which a float product would round.
    expect((refusal as MemoryLimitError).needs).toBe(96n * 10n ** 27n);
    const matmul = instantiate("matmul", "small", { M: 40000, N: 40000, K: 40000 });
    expect(() => checkMemory(matmul, limit)).toThrow(
      "matmul M=40000,N=40000,K=40000 needs 19.2 GB of tensors; the limit is 18.0 GB (set by the machine's memory; --max-memory or COLT_MAX_MEMORY to change it)",
    );
    expect(() => checkMemory(matmul, { bytes: 20n * GB, source: "flag" })).not.toThrow();
  });

  it("reads sizes from the flag first, then COLT_MAX_MEMORY, then the machine", () => {
    expect(parseMemorySize("8G", "--max-memory")).toBe(8n * GB);
    expect(parseMemorySize("1.5T", "--max-memory")).toBe(1500n * GB);
    expect(parseMemorySize("512MB", "--max-memory")).toBe(512n * 1000n ** 2n);
    expect(() => parseMemorySize("8x", "--max-memory")).toThrow(MemorySizeError);
    expect(() => parseMemorySize("0", "--max-memory")).toThrow(MemorySizeError);
    expect(resolveMemoryLimit("2G", { COLT_MAX_MEMORY: "3G" })).toEqual({
      bytes: 2n * GB,
      source: "flag",
    });
    expect(resolveMemoryLimit(undefined, { COLT_MAX_MEMORY: "3G" })).toEqual({
      bytes: 3n * GB,
      source: "env",
    });
    const machine = resolveMemoryLimit(undefined, {});
    expect(machine.source).toBe("machine");
    expect(machine.bytes).toBeGreaterThan(0n);
    expect(formatBytes(19_200_000_000n)).toBe("19.2 GB");
  });

  it("refuses a workload over the limit before building anything", async () => {
    const opts = freshEvalOptions();
    const engine = new MeasurementEngine({
      ...opts,
      memoryLimit: { bytes: GB, source: "env" },
    });
    const program = instantiate("matmul", "small", { M: 10000, N: 10000, K: 10000 });
    await expect(engine.measure(Schedule.initial(program))).rejects.toThrow(
      "needs 1.2 GB of tensors; the limit is 1.0 GB (set by COLT_MAX_MEMORY",
    );
    expect(existsSync(join(opts.cacheDir, "bin"))).toBe(false);
  });

  it("colt measure refuses on one line, before calibrating or building", () => {
    const { cacheDir } = freshEvalOptions();
    const r = colt(
      ["measure", "matmul", "--shape", "M=40000,N=40000,K=40000", "--max-memory", "18G"],
      {
        COLT_CACHE_DIR: cacheDir,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "colt: matmul M=40000,N=40000,K=40000 needs 19.2 GB of tensors; the limit is 18.0 GB (set by --max-memory; --max-memory or COLT_MAX_MEMORY to change it)\n",
    );
    expect(existsSync(join(cacheDir, "bin"))).toBe(false);
    const bad = colt(["measure", "matmul"], { COLT_CACHE_DIR: cacheDir, COLT_MAX_MEMORY: "lots" });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("colt: COLT_MAX_MEMORY must be a size such as 8G");
  });

  it("classifies a candidate that allocates wildly as out-of-memory, and the run goes on", async () => {
    const program = instantiate("matmul", "small", { M: 16, N: 16, K: 16 });
    const good = generateC(Schedule.initial(program).lower()).source;
    // A gigabyte of workspace for a 3 KB problem: far past the candidate's address space.
    const greedy = good.replace(
      new RegExp(`size_t ${WORKSPACE_FN}\\(int nthreads\\) \\{[^}]*\\}`),
      `size_t ${WORKSPACE_FN}(int nthreads) { return (size_t)nthreads << 28; }`,
    );
    expect(greedy).not.toBe(good);
    const engine = new MeasurementEngine({ ...freshEvalOptions(), minMs: 5, runTimeoutMs: 20_000 });
    const wild = await engine.measureSource(program, greedy);
    expect(wild.status).toBe("out-of-memory");
    expect(wild.detail).toContain("out of memory");
    const next = await engine.measureSource(program, good);
    expect(next.status).toBe("ok");
  });
});
