/** Building generated C: the harness compiled once per program, each kernel linked to it. */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { HARNESS_START } from "../../src/codegen/harness.ts";
import { buildBinary } from "../../src/measure/build.ts";
import { CandidateError } from "../../src/measure/errors.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const rmsnorm = (trace: string) =>
  Schedule.fromTrace(instantiate("rmsnorm", "small"), parseTrace(trace));
const objects = (cacheDir: string) =>
  readdirSync(join(cacheDir, "bin")).filter((f) => f.endsWith(".o"));

describe("buildBinary", () => {
  it("compiles a program's harness once for all its candidates, and each candidate verifies", async () => {
    const opts = freshEvalOptions();
    for (const trace of ["", "split Y.j 16 -> jo jv\nvectorize Y.jv", "parallel Y.i"]) {
      const v = await verifySchedule(rmsnorm(trace), opts);
      expect(v.verified, `${trace}: ${v.error}`).toBe(true);
    }
    expect(objects(opts.cacheDir)).toHaveLength(1);
    // A prepared weight changes the harness (it calls the prepare function): a second one.
    const prepared = await verifySchedule(rmsnorm("prepare weight in Y"), opts);
    expect(prepared.verified, `${prepared.error}`).toBe(true);
    expect(objects(opts.cacheDir)).toHaveLength(2);
  }, 60_000);

  it("builds a source of one piece as it is", async () => {
    const { compiler, cacheDir } = freshEvalOptions();
    const source = `#include <stdio.h>\nint main(void) { printf("%d\\n", 6 * 7); return 0; }\n`;
    const { binary } = await buildBinary(source, compiler, { cacheDir });
    expect(execFileSync(binary, { encoding: "utf8" })).toBe("42\n");
    expect(objects(cacheDir)).toHaveLength(0);
  });

  it("reports a kernel that does not compile as the candidate's compile error", async () => {
    const { compiler, cacheDir } = freshEvalOptions();
    const { source } = generateC(rmsnorm("").lower());
    const broken = source.replace(HARNESS_START, `#error the kernel is broken\n${HARNESS_START}`);
    const error = await buildBinary(broken, compiler, { cacheDir, subject: "rmsnorm" }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CandidateError);
    expect((error as CandidateError).message).toMatch(/the kernel is broken/);
  });
});
