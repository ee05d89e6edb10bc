import { describe, expect, it } from "vitest";
import { machineProfile, rooflineSeconds } from "../../src/measure/profile.ts";
import { openBlasAvailable, timeSgemm } from "../../src/measure/blas.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

describe("machine profile", () => {
  it("is calibrated once and then read from the cache", async () => {
    const { compiler, cacheDir } = freshEvalOptions();
    const first = await machineProfile(compiler, cacheDir);
    expect(first.peakFlopsPerCore).toBeGreaterThan(1e9);
    expect(first.bandwidthPerCore).toBeGreaterThan(1e8);
    expect(first.cacheBytesPerCore).toBeGreaterThanOrEqual(32 * 1024);
    expect(first.compiler).toBe(compiler.version);
    const second = await machineProfile(compiler, cacheDir);
    expect(second).toEqual(first);
  });

  it("bounds by memory only when the data does not fit the private caches", () => {
    const profile = {
      cpuModel: "x",
      cores: 2,
      compiler: "cc",
      peakFlopsPerCore: 100e9,
      bandwidthPerCore: 10e9,
      cacheBytesPerCore: 1 << 20,
      calibratedAt: "",
    };
    expect(rooflineSeconds(1e9, 1 << 19, profile, 1)).toBeCloseTo(0.01, 12);
    expect(rooflineSeconds(1e6, 1 << 24, profile, 1)).toBeCloseTo((1 << 24) / 10e9, 12);
    expect(rooflineSeconds(1e9, 1 << 19, profile, 2)).toBeCloseTo(0.005, 12);
  });
});

describe("OpenBLAS reference", () => {
  const { compiler, cacheDir } = freshEvalOptions();
  // .ci/run installs libopenblas-dev, so this runs in CI; elsewhere OpenBLAS is optional.
  it.skipIf(!openBlasAvailable(compiler))("times cblas_sgemm on a given shape", async () => {
    const times = await timeSgemm(
      { M: 64, N: 48, K: 32, batch: 2 },
      { compiler, cacheDir, threads: 1, minMs: 5 },
    );
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.every((t) => t > 0)).toBe(true);
  });
});
