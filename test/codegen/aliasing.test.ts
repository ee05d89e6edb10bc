import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { emitKernel } from "../../src/codegen/c-kernel.ts";
import { detectCompiler } from "../../src/measure/compiler.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { instantiate } from "../../src/workloads/registry.ts";

// deepseek-r1-moe's expert_out reads the intermediate `act` and writes the intermediate
// `expert_out`: both live in the workspace.
const code = emitKernel(Schedule.initial(instantiate("deepseek-r1-moe", "small")).lower()).code;
const INTERMEDIATES = ["router_logits", "gate_proj", "up_proj", "act", "expert_out"] as const;

describe("intermediates in the generated C", () => {
  it("reach the kernel body as restrict parameters of their own, not as workspace offsets", () => {
    const body = /static __attribute__\(\(noinline\)\) void colt_body\(([^)]*)\)/.exec(code);
    expect(body).not.toBeNull();
    for (const name of INTERMEDIATES) {
      expect(body![1]).toContain(`float* restrict ${name}`);
      expect(code).not.toContain(`float* restrict ${name} = colt_ws`);
    }
    expect(code).toMatch(/void colt_kernel\([^)]*\) \{\n {2}colt_body\([^)]*colt_ws \+ \d+/);
  });

  const compiler = detectCompiler();
  const dir = mkdtempSync(join(tmpdir(), "colt-alias-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!isGcc(compiler.command))(
    "let GCC vectorize a nest that reads one intermediate and writes another",
    () => {
      const file = join(dir, "kernel.c");
      writeFileSync(file, code);
      const r = spawnSync(
        compiler.command,
        [...compiler.flags, "-c", file, "-o", join(dir, "kernel.o"), "-fopt-info-vec-optimized"],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      const line = code.split("\n").findIndex((l) => l.includes("for (int expert_out_h")) + 1;
      expect(line).toBeGreaterThan(0);
      expect(r.stderr).toMatch(new RegExp(`kernel\\.c:${line}:\\d+: optimized: loop vectorized`));
    },
  );
});

/** GCC, not clang posing as cc: the vectorization report below is GCC's. */
function isGcc(command: string): boolean {
  const macros = spawnSync(command, ["-dM", "-E", "-x", "c", "/dev/null"], { encoding: "utf8" });
  return macros.stdout.includes("__GNUC__") && !macros.stdout.includes("__clang__");
}
