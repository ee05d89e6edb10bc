import { describe, expect, it } from "vitest";
import { compulsoryTraffic } from "../../src/ir/program.ts";
import {
  sharedCacheFootprints,
  UNKNOWN_SHARED_REACH,
  type MachineProfile,
} from "../../src/measure/profile.ts";
import {
  ABOVE_BOUND,
  footprintBandwidth,
  memoryBound,
  rooflineFraction,
  rooflineSeconds,
  rooflineSecondsBeside,
  sharedCacheBandwidth,
  streamBandwidth,
  type Traffic,
} from "../../src/measure/roofline.ts";
import { instantiate } from "../../src/workloads/registry.ts";

const profile: MachineProfile = {
  version: 2,
  cpuModel: "x",
  cores: 2,
  compiler: "cc",
  peakFlopsPerCore: 100e9,
  bandwidthPerCore: 10e9,
  readBandwidthPerCore: 16e9,
  cacheBytesPerCore: 1 << 20,
  calibratedAt: "",
};

describe("roofline bound", () => {
  it("bounds by memory only when the data does not fit the private caches", () => {
    const small = { readBytes: 1 << 18, writtenBytes: 1 << 18 };
    const large = { readBytes: 1 << 23, writtenBytes: 1 << 23 };
    expect(rooflineSeconds(1e9, small, profile, 1)).toBeCloseTo(0.01, 12);
    expect(rooflineSeconds(1e6, large, profile, 1)).toBeCloseTo((1 << 24) / 10e9, 12);
    expect(rooflineSeconds(1e9, small, profile, 2)).toBeCloseTo(0.005, 12);
  });

  it("streams a read-mostly kernel (matrix-vector) at the read-only bandwidth", () => {
    const gemv = instantiate("matmul", "small", { M: 1, N: 4096, K: 4096 });
    const traffic = compulsoryTraffic(gemv);
    expect(traffic).toEqual({ readBytes: 4 * (4096 + 4096 * 4096), writtenBytes: 4 * 4096 });
    expect(streamBandwidth(traffic, profile)).toBe(16e9);
    const bytes = traffic.readBytes + traffic.writtenBytes;
    expect(rooflineSeconds(2 * 4096 * 4096, traffic, profile, 1)).toBeCloseTo(bytes / 16e9, 12);
  });

  it("uses the read-and-write bandwidth once a third of the traffic is written", () => {
    expect(streamBandwidth({ readBytes: 2, writtenBytes: 1 }, profile)).toBe(10e9);
    expect(streamBandwidth({ readBytes: 1, writtenBytes: 1 }, profile)).toBe(10e9);
    expect(streamBandwidth({ readBytes: 3, writtenBytes: 1 }, profile)).toBe(16e9);
  });

  it("streams data that fits the shared last-level cache from it, not from memory", () => {
    const withL3 = { ...profile, sharedCacheBytes: 32 << 20, sharedCacheBandwidthPerCore: 80e9 };
    const inL3 = { readBytes: 12 << 20, writtenBytes: 12 << 20 };
    const beyond = { readBytes: 16 << 20, writtenBytes: 17 << 20 };
    expect(rooflineSeconds(1e6, inL3, withL3, 1)).toBeCloseTo((24 << 20) / 80e9, 12);
    expect(rooflineSeconds(1e6, beyond, withL3, 1)).toBeCloseTo((33 << 20) / 10e9, 12);
    // A profile without it keeps the memory bound.
    expect(rooflineSeconds(1e6, inL3, profile, 1)).toBeCloseTo((24 << 20) / 10e9, 12);
  });

  it("bounds layernorm at paper size (24 MiB) by the shared cache on a 32 MiB L3", () => {
    const withL3 = { ...profile, sharedCacheBytes: 32 << 20, sharedCacheBandwidthPerCore: 80e9 };
    const layernorm = instantiate("layernorm", "paper");
    const traffic = compulsoryTraffic(layernorm);
    const bytes = traffic.readBytes + traffic.writtenBytes;
    expect(rooflineSeconds(1, traffic, withL3, 1)).toBeCloseTo(bytes / 80e9, 12);
  });

  it("streams data in the shared cache at the triad measured over as much data or less", () => {
    const withPoints = {
      ...profile,
      sharedCacheBytes: 32 << 20,
      sharedCacheBandwidthPerCore: 70e9,
      sharedCacheBandwidths: [
        { bytes: 5 << 18, bandwidthPerCore: 100e9 },
        { bytes: 4 << 20, bandwidthPerCore: 90e9 },
        { bytes: 16 << 20, bandwidthPerCore: 70e9 },
        { bytes: 24 << 20, bandwidthPerCore: 55e9 },
      ],
    };
    const bound = (mib: number, threads = 1) =>
      rooflineSeconds(
        1,
        { readBytes: mib * 2 ** 19, writtenBytes: mib * 2 ** 19 },
        withPoints,
        threads,
      );
    expect(bound(1.1)).toBeCloseTo((1.1 * 2 ** 20) / 100e9, 15);
    expect(bound(3)).toBeCloseTo((3 * 2 ** 20) / 100e9, 15);
    expect(bound(12)).toBeCloseTo((12 * 2 ** 20) / 90e9, 15);
    expect(bound(24)).toBeCloseTo((24 * 2 ** 20) / 55e9, 15);
    expect(bound(30)).toBeCloseTo((30 * 2 ** 20) / 55e9, 15);
    expect(bound(24, 2)).toBeCloseTo((24 * 2 ** 20) / (2 * 55e9), 15);
    expect(bound(40)).toBeCloseTo((40 * 2 ** 20) / 10e9, 15);
    // A version-4 profile has the half-cache triad only.
    expect(
      sharedCacheBandwidth(24 << 20, { ...withPoints, sharedCacheBandwidths: undefined }),
    ).toBe(70e9);
  });

  it("bounds data about as large as the shared cache by the triads over as much, repeated", () => {
    // rmsnorm at paper size moves 32.02 MiB through a 32 MiB L3: repeated, part of it stays.
    const beyond = {
      ...profile,
      sharedCacheBytes: 32 << 20,
      sharedCacheBandwidths: [
        { bytes: 24 << 20, bandwidthPerCore: 55e9 },
        { bytes: 32 << 20, bandwidthPerCore: 30e9 },
        { bytes: 48 << 20, bandwidthPerCore: 12e9 },
        { bytes: 64 << 20, bandwidthPerCore: 9e9 },
      ],
    };
    const bound = (mib: number) =>
      rooflineSeconds(1, { readBytes: mib * 2 ** 19, writtenBytes: mib * 2 ** 19 }, beyond, 1);
    expect(bound(32.02)).toBeCloseTo((32.02 * 2 ** 20) / 30e9, 15);
    expect(bound(50)).toBeCloseTo((50 * 2 ** 20) / 12e9, 15);
    // A triad slower than the memory stream never makes the bound slower than memory.
    expect(bound(64)).toBeCloseTo((64 * 2 ** 20) / 10e9, 15);
    expect(bound(80)).toBeCloseTo((80 * 2 ** 20) / 10e9, 15);
  });

  it("bounds by the footprint ladder when the shared cache's size is not reported", () => {
    // A virtual machine without sysfs cache entries: the ladder of triads, no cache size.
    const ladder = sharedCacheFootprints(0, 2 << 20);
    expect(ladder[0]).toBe(2.5 * 2 ** 20);
    expect(ladder).toContain(32 << 20);
    expect(ladder).toContain(48 << 20);
    expect(ladder.at(-1)).toBe(UNKNOWN_SHARED_REACH);
    expect([...ladder].sort((a, b) => a - b)).toEqual(ladder);
    const unreported = {
      ...profile,
      sharedCacheBandwidths: ladder.map((bytes) => ({
        bytes,
        bandwidthPerCore: bytes <= 16 << 20 ? 100e9 : bytes <= 32 << 20 ? 70e9 : 40e9,
      })),
    };
    const bound = (mib: number) =>
      rooflineSeconds(1, { readBytes: mib * 2 ** 19, writtenBytes: mib * 2 ** 19 }, unreported, 1);
    const traffic256 = { readBytes: 256 * 2 ** 19, writtenBytes: 256 * 2 ** 19 };
    // rmsnorm's 32 MiB, repeated, streams from the cache the machine did not report.
    expect(bound(32.02)).toBeCloseTo((32.02 * 2 ** 20) / 70e9, 15);
    // layernorm's 24 MiB lies between the 16 and 24 MiB rungs: the faster of the two.
    expect(bound(20)).toBeCloseTo((20 * 2 ** 20) / 100e9, 15);
    // Beyond the ladder's reach: the faster of the memory stream and the top rung, which
    // a noisy memory calibration cannot undercut.
    expect(bound(256)).toBeCloseTo((256 * 2 ** 20) / 40e9, 15);
    const fastMemory = { ...unreported, bandwidthPerCore: 45e9 };
    expect(rooflineSeconds(1, traffic256, fastMemory, 1)).toBeCloseTo((256 * 2 ** 20) / 45e9, 15);
    // A matrix-vector product's 64 MiB weight, read only, streams at the read rung's rate.
    const withReads = {
      ...unreported,
      sharedCacheBandwidths: unreported.sharedCacheBandwidths.map((p) => ({
        ...p,
        readBandwidthPerCore: 1.5 * p.bandwidthPerCore,
      })),
    };
    const gemv = { readBytes: 64 * 2 ** 20, writtenBytes: 16384 };
    expect(rooflineSeconds(1, gemv, withReads, 1)).toBeCloseTo(
      (64 * 2 ** 20 + 16384) / (1.5 * 40e9),
      15,
    );
    expect(rooflineSeconds(1, gemv, unreported, 1)).toBeCloseTo((64 * 2 ** 20 + 16384) / 40e9, 15);
  });

  it("keeps the known shared cache's footprints, and none for a small one", () => {
    const known = sharedCacheFootprints(32 << 20, 1 << 20);
    expect(known[0]).toBe(1.25 * 2 ** 20);
    expect(known.at(-1)).toBe(64 << 20);
    expect(sharedCacheFootprints(4 << 20, 1 << 20)).toEqual([]);
  });

  it("bounds every program by the non-temporal triads too, since a schedule may stream its stores", () => {
    // Non-temporal stores skip the write-allocate read: above the triad on memory and on
    // the footprints the cache no longer holds, below it on small ones (they bypass it).
    const streaming = {
      ...profile,
      nonTemporalTriadPerCore: 14e9,
      sharedCacheBandwidths: [
        { bytes: 4 << 20, bandwidthPerCore: 90e9, nonTemporalTriadPerCore: 30e9 },
        { bytes: 32 << 20, bandwidthPerCore: 20e9, nonTemporalTriadPerCore: 25e9 },
        { bytes: 64 << 20, bandwidthPerCore: 9e9, nonTemporalTriadPerCore: 12e9 },
      ],
    };
    const traffic = (mib: number) => ({ readBytes: mib * 2 ** 19, writtenBytes: mib * 2 ** 19 });
    const bound = (t: Traffic, p: MachineProfile = streaming) => rooflineSeconds(1, t, p, 1);
    // In the cache the ordinary triad is faster: it stays the bound.
    expect(bound(traffic(8))).toBeCloseTo((8 * 2 ** 20) / 90e9, 15);
    // Where the non-temporal triad is faster, it is the bound.
    expect(bound(traffic(40))).toBeCloseTo((40 * 2 ** 20) / 25e9, 15);
    expect(bound(traffic(64))).toBeCloseTo((64 * 2 ** 20) / 14e9, 15);
    expect(bound(traffic(256))).toBeCloseTo((256 * 2 ** 20) / 14e9, 15);
    expect(sharedCacheBandwidth(40 << 20, streaming, traffic(40))).toBe(25e9);
    expect(streamBandwidth(traffic(256), streaming)).toBe(14e9);
    // A read-mostly kernel keeps the faster read-only stream.
    const gemv = { readBytes: 256 * 2 ** 20, writtenBytes: 4096 };
    expect(streamBandwidth(gemv, { ...streaming, readBandwidthPerCore: 16e9 })).toBe(16e9);
    // It writes next to nothing: streaming stores do not speed it up.
    expect(streamBandwidth(gemv, { ...streaming, readBandwidthPerCore: 12e9 })).toBe(12e9);
    // A profile without non-temporal figures (before version 8, or AArch64) has the
    // ordinary triads alone.
    const without = {
      ...streaming,
      nonTemporalTriadPerCore: undefined,
      sharedCacheBandwidths: streaming.sharedCacheBandwidths.map(({ bytes, bandwidthPerCore }) => ({
        bytes,
        bandwidthPerCore,
      })),
    };
    expect(bound(traffic(40), without)).toBeCloseTo((40 * 2 ** 20) / 20e9, 15);
    expect(bound(traffic(256), without)).toBeCloseTo((256 * 2 ** 20) / 10e9, 15);
  });

  it("bounds a kernel that writes as much as it reads by the copies, not the triads", () => {
    // The triad reads twice what it writes: that mix streams faster than a row operator's.
    const copies = {
      ...profile,
      bandwidthPerCore: 10e9,
      copyBandwidthPerCore: 9e9,
      nonTemporalTriadPerCore: 14e9,
      nonTemporalCopyPerCore: 12e9,
      sharedCacheBandwidths: [
        {
          bytes: 32 << 20,
          bandwidthPerCore: 60e9,
          copyBandwidthPerCore: 50e9,
          nonTemporalTriadPerCore: 80e9,
          nonTemporalCopyPerCore: 70e9,
        },
      ],
    };
    const rowOperator = (mib: number) => ({
      readBytes: mib * 2 ** 19,
      writtenBytes: mib * 2 ** 19,
    });
    const triadMix = (mib: number) => ({
      readBytes: (mib * 2 ** 21) / 3,
      writtenBytes: (mib * 2 ** 20) / 3,
    });
    const bound = (t: Traffic) => rooflineSeconds(1, t, copies, 1);
    expect(bound(rowOperator(32))).toBeCloseTo((32 * 2 ** 20) / 70e9, 15);
    expect(bound(triadMix(32))).toBeCloseTo((32 * 2 ** 20) / 80e9, 15);
    expect(streamBandwidth(rowOperator(512), copies)).toBe(12e9);
    expect(streamBandwidth(triadMix(512), copies)).toBe(14e9);
    // In between, time per byte moves from the triad's to the copy's: layernorm's weights
    // make it read a little more than it writes.
    const layernorm = { readBytes: 12.01 * 2 ** 20, writtenBytes: 12 * 2 ** 20 };
    expect(streamBandwidth(layernorm, copies)).toBeCloseTo(12e9, -8);
    const between = { readBytes: 7 * 2 ** 20, writtenBytes: 5 * 2 ** 20 }; // 5/12 written
    expect(streamBandwidth(between, copies)).toBeCloseTo(1 / (0.5 / 14e9 + 0.5 / 12e9), 0);
    // Without the copies (profiles before version 8): the triads.
    const older = { ...copies, copyBandwidthPerCore: undefined, sharedCacheBandwidths: undefined };
    expect(streamBandwidth(rowOperator(512), older)).toBe(14e9);
  });

  it("bounds several threads by what the cores streamed together, not one core's times the threads", () => {
    // A 2-core AMD EPYC Zen 4 VM: two cores copied 42-46 GB/s from memory where one copied
    // 34; over 24 MiB in the 32 MiB L3, 122 GB/s where one copied 51.
    const shared = {
      ...profile,
      cores: 4,
      copyBandwidthPerCore: 10e9,
      sharedCacheBytes: 32 << 20,
      sharedCacheBandwidths: [
        { bytes: 16 << 20, bandwidthPerCore: 50e9, copyBandwidthPerCore: 50e9 },
      ],
      allCores: {
        threads: 4,
        bandwidthPerCore: 4e9,
        copyBandwidthPerCore: 4e9,
        sharedCacheBandwidths: [
          { bytes: 16 << 20, bandwidthPerCore: 60e9, copyBandwidthPerCore: 60e9 },
        ],
      },
    };
    const rowOperator = (mib: number) => ({
      readBytes: mib * 2 ** 19,
      writtenBytes: mib * 2 ** 19,
    });
    const bound = (mib: number, threads: number, p: MachineProfile = shared) =>
      rooflineSeconds(1, rowOperator(mib), p, threads);
    // One thread: one core's figures, as before.
    expect(bound(256, 1)).toBeCloseTo((256 * 2 ** 20) / 10e9, 15);
    // All four: the four cores' 16 GB/s together, not 40.
    expect(bound(256, 4)).toBeCloseTo((256 * 2 ** 20) / 16e9, 15);
    // Two of four: twice one core's while that is below the four's together, else the four's.
    expect(bound(256, 2)).toBeCloseTo((256 * 2 ** 20) / 16e9, 15);
    const roomy = { ...shared, allCores: { ...shared.allCores, copyBandwidthPerCore: 8e9 } };
    expect(bound(256, 2, roomy)).toBeCloseTo((256 * 2 ** 20) / 20e9, 15);
    // Warm in the shared cache, four private caches hold more: the four's 240 GB/s measured
    // together bound four threads even above four times one core's 50.
    expect(bound(24, 4)).toBeCloseTo((24 * 2 ** 20) / 240e9, 15);
    expect(bound(24, 2)).toBeCloseTo((24 * 2 ** 20) / 100e9, 15);
    // More threads than the calibration ran: what all the cores moved.
    expect(bound(256, 8)).toBeCloseTo((256 * 2 ** 20) / 16e9, 15);
    // A profile before version 9 (one core's figures only) scales them by the threads.
    expect(bound(256, 4, { ...shared, allCores: undefined })).toBeCloseTo(
      (256 * 2 ** 20) / 40e9,
      15,
    );
  });

  it("falls back to the triad for profiles recorded before the read bandwidth", () => {
    const old = { ...profile, version: undefined, readBandwidthPerCore: undefined };
    expect(streamBandwidth({ readBytes: 100, writtenBytes: 1 }, old)).toBe(10e9);
  });
});

describe("the bound from streams timed beside a run", () => {
  const copying = { readBytes: 1 << 23, writtenBytes: 1 << 23 };
  const calibrated = { ...profile, copyBandwidthPerCore: 12e9 };

  it("takes the memory as fast as the streams beside the run moved it", () => {
    const now = { bandwidthPerCore: 5e9, copyBandwidthPerCore: 6e9 };
    // A row operator's mix: the copy, half the calibrated one's speed now.
    expect(rooflineSeconds(1e6, copying, calibrated, 1)).toBeCloseTo((1 << 24) / 12e9, 12);
    expect(rooflineSecondsBeside(1e6, copying, calibrated, 1, now)).toBeCloseTo(
      (1 << 24) / 6e9,
      12,
    );
    // Per-core figures of two cores streaming together move twice as much.
    expect(footprintBandwidth(copying, now, 2)).toBe(12e9);
    expect(rooflineSecondsBeside(1e6, copying, calibrated, 2, now)).toBeCloseTo(
      (1 << 24) / 12e9,
      12,
    );
    // Data in the private caches, or arithmetic slower than the streams: the compute bound.
    const small = { readBytes: 1 << 18, writtenBytes: 1 << 18 };
    expect(rooflineSecondsBeside(1e9, small, calibrated, 1, now)).toBeCloseTo(0.01, 12);
    expect(rooflineSecondsBeside(1e10, copying, calibrated, 1, now)).toBeCloseTo(0.1, 12);
  });

  it("is asked for only where the memory sets the bound", () => {
    expect(memoryBound(1e6, copying, calibrated, 1)).toBe(true);
    expect(memoryBound(1e10, copying, calibrated, 1)).toBe(false);
    expect(memoryBound(1e3, { readBytes: 1 << 18, writtenBytes: 0 }, calibrated, 1)).toBe(false);
  });
});

describe("fraction of the bound", () => {
  it("is never above 1: a faster kernel means the bound is wrong", () => {
    expect(rooflineFraction(5, 10)).toBe(0.5);
    expect(rooflineFraction(10, 10)).toBe(1);
    expect(rooflineFraction(13.8, 10)).toBeNull();
    expect(ABOVE_BOUND).toMatch(/^above the calibrated bound \(bound is wrong; recalibrate with/);
  });
});
