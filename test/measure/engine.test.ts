import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { KERNEL_NAME } from "../../src/codegen/c-kernel.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

const program = instantiate("matmul", "small", { M: 24, N: 32, K: 16 });
const good = generateC(Schedule.initial(program).lower()).source;

/** Replaces the body of the kernel function with `body`. */
function withKernelBody(source: string, body: string): string {
  const start = source.indexOf(`void ${KERNEL_NAME}(`);
  const open = source.indexOf("{", start);
  const close = source.indexOf("\n}\n", open);
  return `${source.slice(0, open + 1)}\n${body}\n${source.slice(close + 1)}`;
}

function engine() {
  return new MeasurementEngine({ ...freshEvalOptions(), minMs: 5, runTimeoutMs: 3000 });
}

describe("measurement engine", () => {
  it("fails a candidate whose C cannot be generated, saying so, and measures the next", async () => {
    // A lowered program that reads a buffer it does not declare: what a lowering bug hands
    // to code generation (a Winograd table vectorized along a fused loop once did).
    const schedule = Schedule.initial(program);
    const lowered = schedule.lower();
    const undeclared = { ...lowered, buffers: lowered.buffers.filter((b) => b.name !== "A") };
    const broken = Object.assign(Object.create(schedule) as Schedule, { lower: () => undeclared });
    expect(() => generateC(undeclared)).toThrow(/unknown buffer 'A'/);
    const e = engine();
    const [failed, ok] = await Promise.all([e.measure(broken), e.measure(schedule)]);
    expect(failed.status).toBe("codegen-error");
    expect(failed.verified).toBe(false);
    expect(failed.detail).toMatch(/a bug in COLT.*unknown buffer 'A'/);
    expect(ok.status).toBe("ok");
  });

  it("classifies broken candidates and keeps serving the next one", async () => {
    const e = engine();
    const crash = withKernelBody(
      good,
      "  volatile float* p = 0; *p = C[0]; (void)A; (void)B; (void)colt_ws;",
    );
    const hang = withKernelBody(
      good,
      "  for (volatile int spin = 0; ; spin++) { C[0] = A[0] + B[0] + colt_ws[0]; }",
    );
    const wrong = good.replace(
      /(void colt_kernel\([^)]*\) \{[\s\S]*?)\n\}\n/,
      "$1\n  C[5] += 1.0f;\n}\n",
    );
    const broken = good.replace("void colt_kernel(", "void colt_kernel(int oops,, ");
    const [c, h, w, b, ok] = await Promise.all(
      [crash, hang, wrong, broken, good].map((src) => e.measureSource(program, src)),
    );
    expect(c.status).toBe("crash");
    expect(c.detail).toContain("SIGSEGV");
    expect(h.status).toBe("timeout");
    expect(w.status).toBe("wrong-result");
    expect(w.verified).toBe(false);
    expect(w.timing).toBeUndefined();
    expect(b.status).toBe("compile-error");
    expect(b.detail).toMatch(/error/);
    expect(ok.status).toBe("ok");
    expect(ok.verified).toBe(true);
    expect(ok.timing!.reps).toBeGreaterThanOrEqual(3);
    expect(ok.timing!.medianMs).toBeGreaterThan(0);
    expect(ok.compiler.flags).toContain("-O3");
  });

  /** Correct, but 1.05 s a call. */
  const slowKernel = () =>
    "#include <time.h>\n" +
    good.replace(
      /(void colt_kernel\([^)]*\) \{[\s\S]*?)\n\}\n/,
      "$1\n  struct timespec pause = { 1, 50000000 };\n  nanosleep(&pause, 0);\n}\n",
    );

  it("times a kernel whose checked run takes a second or more by that run alone", async () => {
    // The checked run is its timing (1.05 s in all) instead of
    // a timed run after it (2.1 s) or a warm-up and three (5.3 s), both past the timeout.
    const e = new MeasurementEngine({ ...freshEvalOptions(), minMs: 5, runTimeoutMs: 1900 });
    const m = await e.measureSource(program, slowKernel());
    expect(m.status).toBe("ok");
    expect(m.timing!.reps).toBe(1);
    expect(m.timing!.medianMs).toBeGreaterThanOrEqual(1000);
  });

  it("times a slow kernel again when --min-ms asks for more than its checked run", async () => {
    const e = new MeasurementEngine({ ...freshEvalOptions(), minMs: 1500, runTimeoutMs: 6000 });
    const m = await e.measureSource(program, slowKernel());
    expect(m.status).toBe("ok");
    expect(m.timing!.reps).toBe(2);
  });

  it("caches binaries by content and references on disk", async () => {
    const opts = freshEvalOptions();
    const e = new MeasurementEngine({ ...opts, minMs: 5 });
    const s = Schedule.fromTrace(
      program,
      parseTrace("split C.j 16 -> jo ji\nreorder C jo k ji\nvectorize C.ji\n"),
    );
    const first = await e.measure(s);
    const second = await e.measure(s);
    expect(first.buildCached).toBe(false);
    expect(second.buildCached).toBe(true);
    expect(second.verified).toBe(true);
    const refs = readdirSync(join(opts.cacheDir, "ref")).filter((f) => f.endsWith(".f32"));
    expect(refs).toHaveLength(1);
    const refFile = join(opts.cacheDir, "ref", refs[0]);
    const before = statSync(refFile).mtimeMs;
    await new MeasurementEngine({ ...opts, minMs: 5 }).measure(Schedule.initial(program));
    expect(statSync(refFile).mtimeMs).toBe(before);
    expect(existsSync(join(opts.cacheDir, "bin"))).toBe(true);
  });

  it("pins measurements to the last cores", () => {
    const e = new MeasurementEngine({ ...freshEvalOptions(), threads: 1 });
    expect(e.pinnedCpus()).toMatch(/^\d+$/);
  });
});
