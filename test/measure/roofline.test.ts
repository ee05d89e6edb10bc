import { describe, expect, it } from "vitest";
import { compulsoryTraffic } from "../../src/ir/program.ts";
import type { MachineProfile } from "../../src/measure/profile.ts";
import {
  ABOVE_BOUND,
  rooflineFraction,
  rooflineSeconds,
  streamBandwidth,
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

  it("falls back to the triad for profiles recorded before the read bandwidth", () => {
    const old = { ...profile, version: undefined, readBandwidthPerCore: undefined };
    expect(streamBandwidth({ readBytes: 100, writtenBytes: 1 }, old)).toBe(10e9);
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
