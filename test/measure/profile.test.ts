import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  machineProfile,
  PROFILE_VERSION,
  profilePath,
  UNKNOWN_SHARED_REACH,
} from "../../src/measure/profile.ts";
import { openBlasAvailable, timeSgemm } from "../../src/measure/blas.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

describe("machine profile", () => {
  it("is calibrated once and then read from the cache", async () => {
    // Not the run's calibrated copy: this calibrates.
    const { compiler, cacheDir } = freshEvalOptions({
      cacheDir: mkdtempSync(join(tmpdir(), "colt-profile-")),
    });
    const first = await machineProfile(compiler, cacheDir);
    expect(first.version).toBe(PROFILE_VERSION);
    expect(first.peakFlopsPerCore).toBeGreaterThan(1e9);
    expect(first.bandwidthPerCore).toBeGreaterThan(1e8);
    expect(first.readBandwidthPerCore).toBeGreaterThan(1e8);
    expect(first.cacheBytesPerCore).toBeGreaterThanOrEqual(32 * 1024);
    // A shared last-level cache (8 private caches or more) gets its own triad bandwidth. It
    // need not beat the memory's: one core of a virtual machine on an Intel Xeon (model 207,
    // 260 MiB L3) streamed 11.6 GB/s from it against 13.2 from memory, so the roofline takes
    // the larger of the two (roofline.test.ts).
    if (first.sharedCacheBytes !== undefined) {
      expect(first.sharedCacheBytes).toBeGreaterThanOrEqual(8 * first.cacheBytesPerCore);
      expect(first.sharedCacheBandwidthPerCore).toBeGreaterThan(1e8);
      // and a triad per footprint, from above one private cache to twice the shared one.
      const footprints = first.sharedCacheBandwidths!.map((p) => p.bytes);
      expect(footprints[0]).toBeGreaterThan(first.cacheBytesPerCore);
      expect(footprints).toContain(first.sharedCacheBytes);
      expect(footprints.at(-1)).toBe(2 * first.sharedCacheBytes);
      expect([...footprints].sort((a, b) => a - b)).toEqual(footprints);
    } else if (first.sharedCacheBandwidths !== undefined) {
      // None reported (a virtual machine without sysfs cache entries): the ladder.
      expect(first.sharedCacheBandwidths.at(-1)?.bytes).toBe(UNKNOWN_SHARED_REACH);
    }
    // Every footprint also has its read-only stream, for read-mostly kernels, and on x86
    // the triad with non-temporal stores, for kernels that write that way; AArch64 has none.
    const nonTemporal = compiler.target.isa.arch === "x86_64";
    expect(first.copyBandwidthPerCore).toBeGreaterThan(1e8);
    if (nonTemporal) expect(first.nonTemporalTriadPerCore).toBeGreaterThan(1e8);
    else expect(first.nonTemporalTriadPerCore).toBeUndefined();
    if (nonTemporal) expect(first.nonTemporalCopyPerCore).toBeGreaterThan(1e8);
    else expect(first.nonTemporalCopyPerCore).toBeUndefined();
    for (const point of first.sharedCacheBandwidths ?? []) {
      expect(point.bandwidthPerCore).toBeGreaterThan(1e8);
      expect(point.readBandwidthPerCore).toBeGreaterThan(1e8);
      expect(point.copyBandwidthPerCore).toBeGreaterThan(1e8);
      if (nonTemporal) expect(point.nonTemporalTriadPerCore).toBeGreaterThan(1e8);
      else expect(point.nonTemporalTriadPerCore).toBeUndefined();
      if (nonTemporal) expect(point.nonTemporalCopyPerCore).toBeGreaterThan(1e8);
      else expect(point.nonTemporalCopyPerCore).toBeUndefined();
    }
    // With more than one core, the same streams and ladder again on all of them at once.
    if (first.cores > 1) {
      const all = first.allCores!;
      expect(all.threads).toBe(first.cores);
      expect(all.bandwidthPerCore).toBeGreaterThan(1e8);
      expect(all.copyBandwidthPerCore).toBeGreaterThan(1e8);
      expect(all.readBandwidthPerCore).toBeGreaterThan(1e8);
      expect(all.sharedCacheBandwidths?.map((p) => p.bytes)).toEqual(
        first.sharedCacheBandwidths?.map((p) => p.bytes),
      );
    } else expect(first.allCores).toBeUndefined();
    expect(first.compiler).toBe(compiler.version);
    const second = await machineProfile(compiler, cacheDir);
    expect(second).toEqual(first);
  });

  it("recalibrates a profile cached by an older colt (no read bandwidth)", async () => {
    const { compiler, cacheDir } = freshEvalOptions();
    const old = {
      cpuModel: cpus()[0]?.model ?? "unknown CPU",
      cores: cpus().length,
      compiler: compiler.version,
      peakFlopsPerCore: 1e9,
      bandwidthPerCore: 1e9,
      cacheBytesPerCore: 1 << 20,
      calibratedAt: "2026-01-01T00:00:00.000Z",
    };
    writeFileSync(profilePath(cacheDir, compiler.target.name), JSON.stringify(old));
    const profile = await machineProfile(compiler, cacheDir);
    expect(profile.version).toBe(PROFILE_VERSION);
    expect(profile.readBandwidthPerCore).toBeGreaterThan(1e8);
    expect(profile.calibratedAt).not.toBe(old.calibratedAt);
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
