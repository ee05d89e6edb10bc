/** The BLIS recipe: cache and register blocking of a many-row contraction in one step. */
import { describe, expect, it } from "vitest";
import { blisGemm, blisGemmWholeReduction } from "../../src/models/offline/blis-gemm.ts";
import { columnParts } from "../../src/models/offline/recipes.ts";
import { tileChoices } from "../../src/models/offline/tile-shapes.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { X86_AVX2 } from "../../src/target/targets.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

/** x86-avx2's 6 x 16 tile (12 ymm accumulators), with a short reduction block. */
const tile = { ...tileChoices(X86_AVX2).find((c) => c.mr === 6 && c.nr === 16)!, kc: 32 };

describe("BLIS recipe", () => {
  it("blocks, packs and tiles the whole product in one step, a weight prepared", () => {
    const initial = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 70, K: 77 }));
    const steps = blisGemm(initial, initial.state.stages[0], tile)?.steps.map(printTransform);
    expect(steps).toEqual([
      "split C.k 32 -> kc k1",
      "split C.i 48 -> ic i1",
      "split C.j 16 -> jr j2",
      "split C.i1 6 -> ir i2",
      "split C.j2 8 -> jw jv",
      "reorder C kc ic jr ir k1 i2 jw jv",
      "prepare B in C",
      "pack A in C at ic",
      "cache_write C at ir",
      "unroll C.i2",
      "unroll C.jw",
      "vectorize C.jv",
    ]);
  });

  it("on two threads, cuts the columns into one part per thread, outermost and parallel", () => {
    const initial = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 70, K: 77 }));
    const steps = blisGemm(initial, initial.state.stages[0], tile, 2)?.steps.map(printTransform);
    expect(steps).toEqual(
      expect.arrayContaining([
        "split C.j 48 -> jp jn",
        "split C.jn 16 -> jr j2",
        "reorder C jp kc ic jr ir k1 i2 jw jv",
        "parallel C.jp",
      ]),
    );
    expect(steps?.filter((t) => t.startsWith("parallel"))).toHaveLength(1);
  });

  it("on two threads, hands smaller column parts out dynamically, in both forms, verified", async () => {
    // N 150: parts of two 16-wide panels (150 / 8 columns, whole panels), 5 of them, one at a time.
    const initial = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 150, K: 77 }));
    const stage = initial.state.stages[0];
    const forms = [
      blisGemm(initial, stage, tile, 2, "dynamic"),
      blisGemmWholeReduction(initial, stage, tile, 1 << 20, 2, "dynamic"),
    ];
    for (const r of forms) {
      const steps = r?.steps.map(printTransform) ?? [];
      expect(steps, r?.name).toContain("split C.j 32 -> jp jn");
      expect(steps, r?.name).toContain("parallel C.jp dynamic 1");
      const v = await verifySchedule(r!.schedule, freshEvalOptions({ threads: 2 }));
      expect(v.verified, `${r!.name}: error ${v.error}`).toBe(true);
    }
    expect(blisGemm(initial, stage, tile, 1, "dynamic")).toBeUndefined();
  }, 120_000);

  it("cuts dynamic parts of at least two panels, so the panel split inside has work", () => {
    // 256 columns in 8 parts would be one 32-wide panel each: parts of two panels instead.
    expect(columnParts(256, 2, 32, "dynamic")).toEqual({ part: 64, chunk: 1 });
    expect(columnParts(256, 2, 32)).toEqual({ part: 128 });
    // Fewer than two parts per thread: nothing to hand out.
    expect(columnParts(96, 2, 32, "dynamic")).toBeUndefined();
    const initial = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 256, K: 77 }));
    const wide = { ...tile, nr: 32 };
    const r = blisGemmWholeReduction(initial, initial.state.stages[0], wide, 1 << 20, 2, "dynamic");
    expect(r?.steps.map(printTransform)).toContain("split C.j 64 -> jp jn");
  });

  it("leaves skinny and short contractions to other recipes", () => {
    const skinny = Schedule.initial(instantiate("matmul", "small", { M: 32, N: 256, K: 256 }));
    expect(blisGemm(skinny, skinny.state.stages[0], tile)).toBeUndefined();
    const short = Schedule.initial(instantiate("matmul", "small", { M: 256, N: 256, K: 16 }));
    expect(blisGemm(short, short.state.stages[0], tile)).toBeUndefined();
  });

  it("compiles and matches the reference with tails in every dimension, on 1 and 2 threads", async () => {
    const initial = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 70, K: 77 }));
    for (const threads of [1, 2]) {
      const r = blisGemm(initial, initial.state.stages[0], tile, threads)!;
      const v = await verifySchedule(r.schedule, freshEvalOptions({ threads }));
      expect(v.verified, `${threads} threads: error ${v.error}`).toBe(true);
    }
  }, 120_000);
});

describe("BLIS recipe over the whole reduction", () => {
  const wide = tileChoices(X86_AVX2).find((c) => c.mr === 6 && c.nr === 16)!;

  it("cuts the columns into panels as long as the reduction that fit half the L2, and reads the rows in place", () => {
    // 1024^3 on a 1 MiB L2 (AMD Zen 4): a 1024 x 128 panel is 512 KiB.
    const square = Schedule.initial(instantiate("matmul", "paper"));
    const steps = blisGemmWholeReduction(square, square.state.stages[0], wide, 1 << 20)?.steps.map(
      printTransform,
    );
    expect(steps).toEqual([
      "split C.j 128 -> jc jb",
      "split C.jb 16 -> jr j2",
      "split C.i 24 -> ic i1",
      "split C.i1 6 -> ir i2",
      "split C.j2 8 -> jw jv",
      "reorder C jc ic jr ir k i2 jw jv",
      "prepare B in C",
      "cache_write C at ir",
      "unroll C.i2",
      "unroll C.jw",
      "vectorize C.jv",
    ]);
    // A 2 MiB L2 (Intel Sapphire Rapids) takes panels twice as wide.
    const onLargerL2 = blisGemmWholeReduction(square, square.state.stages[0], wide, 2 << 20);
    expect(onLargerL2?.steps.map(printTransform)[0]).toBe("split C.j 256 -> jc jb");
  });

  it("on two threads, panels inside one column part per thread; an activation packed per panel, or per batch", () => {
    // Three batches do not split evenly over two threads: the columns are cut instead.
    const shape = { B: 3, M: 150, N: 70, K: 77 };
    const batched = Schedule.initial(instantiate("batch-matmul", "small", shape));
    const stage = batched.state.stages[0];
    const twoPanels = 32 * 77 * 4 * 2;
    const steps = blisGemmWholeReduction(batched, stage, wide, twoPanels, 2)?.steps.map(
      printTransform,
    );
    expect(steps).toEqual(
      expect.arrayContaining([
        "split C.j 48 -> jp jn",
        "split C.jn 32 -> jc jb",
        "reorder C jp b jc ic jr ir k i2 jw jv",
        "pack Bm in C at jc",
        "parallel C.jp",
      ]),
    );
    // All of a batch's columns in one panel: copied once per batch.
    const onePanel = blisGemmWholeReduction(batched, stage, wide, 1 << 20)?.steps.map(
      printTransform,
    );
    expect(onePanel).toEqual(
      expect.arrayContaining(["reorder C b ic jr ir k i2 jw jv", "pack Bm in C at b"]),
    );
    // A reduction too long for a tile-wide panel in half the L2.
    expect(blisGemmWholeReduction(batched, stage, wide, 16 * 77 * 4)).toBeUndefined();
  });

  it("on two threads, shares an even batch by whole GEMMs, in both forms, verified", async () => {
    // Column parts would each read every batch's row operand; whole batches read only theirs.
    const batched = Schedule.initial(
      instantiate("batch-matmul", "small", { B: 4, M: 150, N: 70, K: 77 }),
    );
    const stage = batched.state.stages[0];
    const forms = [
      blisGemm(batched, stage, tile, 2),
      blisGemmWholeReduction(batched, stage, wide, 1 << 20, 2),
    ];
    for (const r of forms) {
      const steps = r?.steps.map(printTransform) ?? [];
      expect(
        steps.filter((t) => t.startsWith("parallel")),
        r?.name,
      ).toEqual(["parallel C.b"]);
      expect(
        steps.some((t) => t.includes("-> jp jn")),
        r?.name,
      ).toBe(false);
      expect(r?.name).toContain("b batches shared by 2 threads");
      const v = await verifySchedule(r!.schedule, freshEvalOptions({ threads: 2 }));
      expect(v.verified, `${r!.name}: error ${v.error}`).toBe(true);
    }
  }, 120_000);

  it("compiles and matches the reference with tails in every dimension, on 1 and 2 threads", async () => {
    const matmul = Schedule.initial(instantiate("matmul", "small", { M: 150, N: 70, K: 77 }));
    const batched = Schedule.initial(
      instantiate("batch-matmul", "small", { B: 2, M: 150, N: 70, K: 77 }),
    );
    const cases = [
      { schedule: matmul, l2: 32 * 77 * 4 * 2, threads: 1 },
      { schedule: matmul, l2: 32 * 77 * 4 * 2, threads: 2 },
      { schedule: batched, l2: 1 << 20, threads: 1 },
    ];
    for (const { schedule, l2, threads } of cases) {
      const r = blisGemmWholeReduction(schedule, schedule.state.stages[0], wide, l2, threads)!;
      const v = await verifySchedule(r.schedule, freshEvalOptions({ threads }));
      expect(v.verified, `${r.name}: error ${v.error}`).toBe(true);
    }
  }, 120_000);
});
