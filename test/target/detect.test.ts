import { describe, expect, it } from "vitest";
import { tileChoices } from "../../src/models/offline/tile-shapes.ts";
import { detectTargetName, resolveTarget, type HostCpu } from "../../src/target/detect.ts";
import { TargetError } from "../../src/target/errors.ts";
import { AARCH64_NEON, TARGETS, X86_AVX2, X86_AVX512 } from "../../src/target/targets.ts";

const x86 = (...flags: string[]): HostCpu => ({ arch: "x86_64", flags: new Set(flags) });
const arm: HostCpu = { arch: "aarch64", flags: new Set(["fp", "asimd"]) };

describe("native target detection", () => {
  it("takes the widest target the CPU flags allow", () => {
    expect(detectTargetName(x86("sse2", "avx2", "fma", "avx512f"))).toBe("x86-avx512");
    expect(detectTargetName(x86("sse2", "avx2", "fma"))).toBe("x86-avx2");
    expect(detectTargetName(arm)).toBe("aarch64-neon");
    expect(() => detectTargetName(x86("sse2", "avx"))).toThrow(TargetError);
  });

  it("binds a target to the host: native, emulated under qemu, or refused", () => {
    const zen4 = x86("avx2", "fma", "avx512f");
    expect(resolveTarget("native", zen4).name).toBe("x86-avx512");
    const avx2 = resolveTarget("x86-avx2", zen4);
    expect(avx2.execution.kind).toBe("native");
    expect(avx2.detected).toBe(false);
    const neon = resolveTarget("aarch64-neon", zen4);
    expect(neon.execution).toMatchObject({
      kind: "emulated",
      emulator: ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
    });
    expect(neon.toolchain.defaultCompiler).toBe("aarch64-linux-gnu-gcc");
    expect(() => resolveTarget("x86-avx512", x86("avx2", "fma"))).toThrow(/cannot run/);
    expect(() => resolveTarget("x86-avx2", arm)).toThrow(TargetError);
    // On an aarch64 machine the NEON target is native and built with the system compiler.
    expect(resolveTarget("aarch64-neon", arm)).toMatchObject({
      execution: { kind: "native" },
      detected: true,
      toolchain: { defaultCompiler: "cc" },
    });
    expect(() => resolveTarget("x86-avx1024", zen4)).toThrow(/unknown target 'x86-avx1024'/);
  });

  it("says which package to install when the emulator is missing", () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(() => resolveTarget("aarch64-neon", x86("avx2", "fma"))).toThrow(
        /qemu-aarch64, which is not installed; install it \(Debian: apt-get install qemu-user\)/,
      );
    } finally {
      process.env.PATH = path;
    }
  });
});

describe("tile shapes per target", () => {
  it("are today's AVX-512 shapes on x86-avx512", () => {
    expect(tileChoices(X86_AVX512).map(({ mr, nr, width, kc }) => [mr, nr, width, kc])).toEqual([
      [8, 32, 16, 256],
      [4, 32, 16, 128],
      [8, 16, 16, 64],
      [6, 32, 16, 256],
      [4, 16, 8, 32],
    ]);
  });

  it("keep every accumulator of the register tile in a register, with room for the operands", () => {
    for (const t of TARGETS) {
      for (const c of tileChoices(t)) {
        const registersPerRow = Math.ceil(c.nr / t.isa.lanes);
        expect(c.mr * registersPerRow, `${t.name} ${c.mr}x${c.nr}`).toBeLessThanOrEqual(
          t.isa.registers - 4,
        );
        expect(t.vectorWidths).toContain(c.width);
      }
    }
    expect(tileChoices(X86_AVX2)[0]).toMatchObject({ mr: 6, nr: 16, width: 8 });
    expect(tileChoices(AARCH64_NEON)[0]).toMatchObject({ mr: 8, nr: 8, width: 4 });
  });
});
