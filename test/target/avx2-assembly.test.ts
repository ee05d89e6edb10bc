/** An x86-avx2 build holds no 512-bit vector, even for a schedule written with 16 lanes. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { detectCompiler } from "../../src/measure/compiler.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { resolveTarget } from "../../src/target/detect.ts";
import { X86_AVX2, X86_AVX512 } from "../../src/target/targets.ts";
import { instantiate } from "../../src/workloads/registry.ts";

/** The assembly `cc -S` writes for the matmul example schedule (16-lane vectors). */
function assemblyFor(targetName: string): string {
  const compiler = detectCompiler(undefined, resolveTarget(targetName));
  const program = instantiate("matmul", "small", {});
  const text = readFileSync(
    new URL("../../examples/schedules/matmul-small.sched", import.meta.url),
    "utf8",
  );
  const { source } = generateC(Schedule.fromTrace(program, parseTrace(text)).lower());
  const dir = mkdtempSync(join(tmpdir(), "colt-asm-"));
  writeFileSync(join(dir, "k.c"), source);
  const out = join(dir, "k.s");
  const r = spawnSync(
    compiler.argv[0],
    [...compiler.argv.slice(1), ...compiler.flags, "-S", join(dir, "k.c"), "-o", out],
    {
      encoding: "utf8",
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(out, "utf8");
}

describe("x86-avx2 kernels", () => {
  it("use ymm registers and never a zmm register", () => {
    const asm = assemblyFor("x86-avx2");
    expect(asm).toMatch(new RegExp(`%${X86_AVX2.isa.registerName}\\d+`));
    expect(asm).not.toMatch(new RegExp(`%${X86_AVX512.isa.registerName}\\d+`));
  });

  it.skipIf(!readFileSync("/proc/cpuinfo", "utf8").includes("avx512f"))(
    "while the same schedule built for x86-avx512 uses zmm registers",
    () => {
      expect(assemblyFor("x86-avx512")).toMatch(new RegExp(`%${X86_AVX512.isa.registerName}\\d+`));
    },
  );
});
