/**
 * The vector min and max helpers (a row maximum, a clamp): on x86 the target's own
 * instruction (`vmaxps`, `vminps`), elsewhere a compare-and-blend. Both must be exactly the
 * scalar `a > b ? a : b` (`a < b ? a : b` for min) lane by lane, NaN and signed zeros
 * included: compiled with the real C compiler, in the native form and the portable one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { helperDefinitions } from "../../src/codegen/c-expr.ts";
import { maskType, vecType } from "../../src/target/gnu-vectors.ts";
import { compileAndRun } from "../support/toolchain.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-vminmax-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const specials = ["NAN", "(-NAN)", "0.0f", "(-0.0f)", "INFINITY", "(-INFINITY)", "1.5f", "(-2.0f)"];

/**
 * For every pair of special values, in every lane position, whether the helper's result has
 * the same bits as the scalar form's. Prints one line per mismatch, then "checked N".
 */
function mismatches(op: "min" | "max", lanes: number, extraFlags: readonly string[]): string {
  const V = vecType(lanes);
  const cmp = op === "min" ? "<" : ">";
  const source = [
    "#include <math.h>",
    "#include <stdio.h>",
    "#include <string.h>",
    `typedef float ${V} __attribute__((vector_size(${lanes * 4})));`,
    `typedef int ${maskType(lanes)} __attribute__((vector_size(${lanes * 4})));`,
    helperDefinitions(new Set([`colt_${op}_v${lanes}`])),
    `static const float values[] = {${specials.join(", ")}};`,
    "int main(void) {",
    "  int n = sizeof values / sizeof values[0], checked = 0;",
    "  for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) {",
    `    ${V} a, b;`,
    `    for (int l = 0; l < ${lanes}; l++) { a[l] = values[(i + l) % n]; b[l] = values[(j + l) % n]; }`,
    `    ${V} r = colt_${op}_v${lanes}(a, b);`,
    `    for (int l = 0; l < ${lanes}; l++) {`,
    `      float want = a[l] ${cmp} b[l] ? a[l] : b[l], got = r[l];`,
    '      if (memcmp(&want, &got, 4)) printf("%g %g: %g not %g\\n", a[l], b[l], got, want);',
    "      checked++;",
    "    }",
    "  }",
    '  printf("checked %d\\n", checked);',
    "  return 0;",
    "}",
  ].join("\n");
  const name = `${op}${lanes}${extraFlags.join("")}`;
  return compileAndRun(dir, name, source, [...extraFlags, "-Wno-psabi"]).trim();
}

describe("the vector min and max", () => {
  const forms: { name: string; flags: string[] }[] = [
    { name: "native", flags: [] },
    ...(process.arch === "x64"
      ? [{ name: "portable (no AVX, no AVX-512)", flags: ["-mno-avx512f", "-mno-avx"] }]
      : []),
  ];
  for (const form of forms)
    for (const lanes of [4, 8, 16])
      for (const op of ["min", "max"] as const)
        it(`${op} with ${lanes} lanes, ${form.name}, is the scalar select, NaN and -0 alike`, () => {
          const n = specials.length;
          expect(mismatches(op, lanes, form.flags)).toBe(`checked ${n * n * lanes}`);
        });

  it("uses x86's own instruction where the target has it for the lanes", () => {
    expect(helperDefinitions(new Set(["colt_max_v16"]))).toContain("_mm512_max_ps");
    expect(helperDefinitions(new Set(["colt_min_v8"]))).toContain("_mm256_min_ps");
    expect(helperDefinitions(new Set(["colt_max_v4"]))).not.toContain("_mm");
  });
});
