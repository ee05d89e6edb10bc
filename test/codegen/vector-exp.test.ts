/**
 * The vector exp that vectorized exp, sigmoid and tanh compile to (GCC vector extensions,
 * parameterized by the lane count): compiled with the real C compiler and compared, lane by
 * lane, with the C library's expf in double precision, including arguments that underflow
 * to 0 and overflow to infinity. 16 lanes have two forms: AVX-512's, which the native build
 * checks where the machine has AVX-512, and the portable one, also built with -mno-avx512f.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { helperDefinitions } from "../../src/codegen/c-expr.ts";
import { maskType, vecType } from "../../src/target/gnu-vectors.ts";
import { compileAndRun } from "../support/toolchain.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-vexp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest error allowed, relative to exp(x) in double precision: 4 ulp of a float. */
const MAX_RELATIVE_ERROR = 4 * 2 ** -23;

/** `count` arguments from `lo` to `hi`, evenly spaced. */
const grid = (lo: number, hi: number, count: number) =>
  Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / (count - 1));

const cFloat = (v: number) =>
  v === Infinity ? "INFINITY" : v === -Infinity ? "(-INFINITY)" : `(float)${v}`;

/**
 * Runs colt_exp_v<lanes> over `xs` (a multiple of `lanes`), every lane a different
 * argument, and returns each argument, result and double-precision exp.
 */
function vectorExp(lanes: number, xs: readonly number[], extraFlags: readonly string[] = []) {
  const V = vecType(lanes);
  const source = [
    "#include <math.h>",
    "#include <stdio.h>",
    `typedef float ${V} __attribute__((vector_size(${lanes * 4})));`,
    `typedef int ${maskType(lanes)} __attribute__((vector_size(${lanes * 4})));`,
    helperDefinitions(new Set([`colt_exp_v${lanes}`])),
    `static const float xs[${xs.length}] = {${xs.map(cFloat).join(", ")}};`,
    "int main(void) {",
    `  for (int i = 0; i < ${xs.length}; i += ${lanes}) {`,
    `    ${V} x;`,
    `    for (int l = 0; l < ${lanes}; l++) x[l] = xs[i + l];`,
    `    ${V} y = colt_exp_v${lanes}(x);`,
    `    for (int l = 0; l < ${lanes}; l++) printf("%.9g %.9g %.17g\\n", x[l], y[l], exp((double)x[l]));`,
    "  }",
    "  return 0;",
    "}",
  ].join("\n");
  const name = `vexp${lanes}-${xs.length}-${xs[0]}${extraFlags.join("")}`;
  const number = (v: string) => (v === "inf" ? Infinity : v === "-inf" ? -Infinity : Number(v));
  return compileAndRun(dir, name, source, extraFlags)
    .trim()
    .split("\n")
    .map((line) => line.split(" ").map(number))
    .map(([x, y, exact]) => ({ x, y, exact }));
}

describe("the vector exp", () => {
  for (const lanes of [4, 8, 16]) {
    it(`with ${lanes} lanes is within 4 ulp of exp on [-86.98, 88.72], in every lane`, () => {
      const points = vectorExp(lanes, grid(-86.98, 88.72, 64 * lanes));
      expect(points).toHaveLength(64 * lanes);
      for (const { x, y, exact } of points) {
        expect(Math.abs(y - exact) / exact, `exp(${x}) = ${y}, not ${exact}`).toBeLessThanOrEqual(
          MAX_RELATIVE_ERROR,
        );
      }
    });
  }

  it("underflows to 0 below twice the smallest normal float and overflows to infinity", () => {
    const huge = [1e3, 1e4, 1e10, 1e20, 1e30, 1e37, 3e38, Infinity];
    const low = vectorExp(16, [...grid(-100, -86.981, 56), ...huge.map((v) => -v)]);
    for (const { x, y } of low) expect(y, `exp(${x})`).toBe(0);
    const high = vectorExp(16, [...grid(88.723, 100, 56), ...huge]);
    for (const { x, y } of high) expect(y, `exp(${x})`).toBe(Infinity);
  });

  it.skipIf(process.arch !== "x64")(
    "in its portable 16-lane form (built without AVX-512) is within 4 ulp, 0 and inf alike",
    () => {
      const noAvx512 = ["-mno-avx512f"];
      const points = vectorExp(16, grid(-86.98, 88.72, 64 * 16), noAvx512);
      for (const { x, y, exact } of points)
        expect(Math.abs(y - exact) / exact, `exp(${x})`).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
      for (const { y } of vectorExp(
        16,
        Array(4).fill([-100, -90, -87, -Infinity]).flat(),
        noAvx512,
      ))
        expect(y).toBe(0);
      for (const { y } of vectorExp(16, Array(4).fill([88.73, 89, 100, Infinity]).flat(), noAvx512))
        expect(y).toBe(Infinity);
    },
  );

  it("evaluates a degree-5 polynomial in five multiply-adds in both forms (softmax is bound by it)", () => {
    const source = helperDefinitions(new Set(["colt_exp_v16"]));
    const forms = source.split("#else");
    expect(forms).toHaveLength(2);
    expect(forms[0]).toContain("_mm512_maskz_scalef_ps");
    for (const form of forms) {
      const steps = form.split("\n").filter((line) => /^\s*(\w+ )?y = /.test(line));
      expect(steps).toHaveLength(5);
      for (const step of steps) expect(step).toMatch(/^\s*(\w+ )?y = [ry] \* [\w.-]+ \+ [\w.-]+;$/);
    }
  });

  it("is exact where softmax needs it most: exp(0) = 1 and tiny arguments", () => {
    const near = vectorExp(8, grid(-1e-3, 1e-3, 32));
    for (const { x, y, exact } of near)
      expect(Math.abs(y - exact) / exact, `exp(${x})`).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
  });
});
