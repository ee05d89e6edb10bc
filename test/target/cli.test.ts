/** `colt targets`, and what the commands that build do with --target. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectTargetName } from "../../src/target/detect.ts";
import { colt } from "../support/cli.ts";
import { targetEvalOptions } from "./support.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const env = () => {
  const dir = calibratedCacheDir("colt-targets-");
  return { COLT_CACHE_DIR: dir, COLT_DB: join(dir, "colt.db") };
};

describe("colt targets", () => {
  it("lists the three targets and marks the one this machine is", () => {
    const r = colt(["targets", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; detected: boolean; lanes: number }[];
    expect(rows.map((t) => [t.name, t.lanes])).toEqual([
      ["x86-avx512", 16],
      ["x86-avx2", 8],
      ["aarch64-neon", 4],
    ]);
    expect(rows.filter((t) => t.detected).map((t) => t.name)).toEqual([detectTargetName()]);
    expect(colt(["targets"]).stdout).toContain(`* native: this machine is ${detectTargetName()}`);
  });

  it("refuses an unknown target in one line", () => {
    const r = colt(["measure", "matmul", "--target", "riscv"], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "colt: unknown target 'riscv'; one of native, x86-avx512, x86-avx2, aarch64-neon (colt targets)\n",
    );
  });
});

describe.skipIf(targetEvalOptions("aarch64-neon")?.compiler.target.execution.kind !== "emulated")(
  "an emulated target",
  () => {
    it("is verified by colt measure, which says the time is emulated", () => {
      const r = colt(
        ["measure", "softmax", "--target", "aarch64-neon", "--min-ms", "1", "--json"],
        env(),
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        target: "aarch64-neon",
        emulated: true,
        verified: true,
        peakFraction: null,
      });
      const text = colt(["measure", "softmax", "--target", "aarch64-neon", "--min-ms", "1"], env());
      expect(text.stdout).toMatch(/under emulation: not a time of aarch64-neon/);
    }, 120_000);

    it("is refused by colt tune with one line saying where to run it", () => {
      const r = colt(["tune", "matmul", "--target", "aarch64-neon", "--trials", "2"], env());
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^colt: aarch64-neon runs under an emulator here.*run colt tune on aarch64 hardware/,
      );
      expect(r.stderr.split("\n")).toHaveLength(2);
    });
  },
);
