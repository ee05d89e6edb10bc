/** Regression tests for lowering and structural bugs found while writing example schedules. */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { icmp, ProgramBuilder, select } from "../../src/ir/builder.ts";
import { mod } from "../../src/ir/int-expr.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions();
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

const schedule = (workload: string, text: string, shape: Record<string, number> = {}) =>
  Schedule.fromTrace(instantiate(workload, "small", shape), parseTrace(text));

describe("a non-dividing split of a loop that is itself a split or fuse result", () => {
  // The inner loop of the first split has extent 7; splitting it by 5 runs it to 9, so it
  // needs its own guard: guarding only the original axis let k run into the next block.
  const CASES = [
    ["reduction axis", "split C.k 7 -> ko ki\nsplit C.ki 5 -> ka kb"],
    ["spatial axis, unrolled", "split C.i 8 -> io ii\nsplit C.ii 3 -> ia ib\nunroll C.ib"],
    [
      "spatial axis, vectorized",
      "split C.j 16 -> jo ji\nsplit C.ji 8 -> ja jb\nreorder C i jo ja k jb\nvectorize C.jb",
    ],
    ["fused loop", "fuse C.i C.j -> ij\nsplit C.ij 10 -> o p"],
  ] as const;

  it("guards the split loop in the lowered nest", () => {
    const nest = printLoopNest(schedule("matmul", CASES[0][1]).lower());
    expect(nest).toMatch(/for C\.kb in 0\.\.min\(.*C\.ka\*\(-5\) \+ 7\)/);
  });

  it("computes the reference result", async () => {
    const results = await inBatches(CASES, 2, async ([name, text]) => {
      const v = await verifySchedule(schedule("matmul", text, { M: 13, N: 45, K: 29 }), opts);
      return { name, error: v.error };
    });
    for (const r of results) expect(r.error, r.name).toBeLessThanOrEqual(1e-4);
  });
});

describe("copying a tensor that a stage reads only through an inlined producer", () => {
  // conv2d reads X only through the inlined padding stage; pack and cache_read used to look
  // at the stage's own body and refuse with "stage does not read tensor 'X'".
  const text = "compute_inline padded\nsplit Y.x 5 -> xo xi\nreorder Y n o y xo c ry rx xi";

  it("accepts cache_read and lowers the tile into the nest", () => {
    const s = schedule("conv2d", `${text}\ncache_read X in Y at y`);
    expect(printLoopNest(s.lower())).toContain("buffer Y_X_tile: float32[1, 8, 3, 17]");
  });

  it("computes the reference result with cache_read and with pack", async () => {
    const results = await inBatches(["cache_read X in Y at y", "pack X in Y at xo"], 2, (copy) =>
      verifySchedule(schedule("conv2d", `${text}\n${copy}`), opts),
    );
    for (const r of results) expect(r.error).toBeLessThanOrEqual(1e-4);
  });
});

describe("vector loops whose lanes codegen cannot tell apart", () => {
  it("are refused in prepare's constant stages too (a fused table loop, vectorized)", () => {
    // Found by bench:paper: the search vectorized a Winograd table along a fused loop,
    // which lowering checked only in the kernel body, and codegen then threw.
    expect(() =>
      schedule(
        "flux-conv",
        "winograd conv\nfuse conv_BT.i conv_BT.k -> ik\nvectorize conv_BT.ik",
      ).lower(),
    ).toThrow(/store to conv_BT depends on the vectorized loop non-linearly \(conv_BT\.ik\/4\)/);
  });

  it("are refused when a select compares an index non-linear in the vector loop", () => {
    const b = new ProgramBuilder("even", {});
    const X = b.input("X", [64]);
    const Y = b.compute("Y", { i: 64 }, ({ i }) => select(icmp(mod(i, 2), "==", 0), X.at(i), 0));
    expect(() =>
      Schedule.fromTrace(b.build([Y]), parseTrace("split Y.i 16 -> io ii\nvectorize Y.ii")),
    ).toThrow(/a condition depends on the vectorized loop non-linearly \(Y\.ii%2\)/);
  });
});
