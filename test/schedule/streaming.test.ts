/**
 * stream_store and prefetch: what they accept and refuse, what they generate, and that
 * the kernels they give compute the reference where rows are not aligned to a vector.
 */
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { generateC } from "../../src/codegen/generate.ts";
import { printLoopNest } from "../../src/ir/print.ts";
import { verifySchedule } from "../../src/measure/evaluate.ts";
import { legalMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace, parseTransform, printTransform } from "../../src/schedule/text.ts";
import { findTarget } from "../../src/target/detect.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions({ threads: 2 });
afterAll(() => rmSync(opts.cacheDir, { recursive: true, force: true }));

/** rmsnorm in one pass, each row's sum of squares computed inside the output's row loop. */
const ONE_PASS = [
  "split sum_sq.j 16 -> jo jl",
  "cache_write sum_sq at i",
  "vectorize sum_sq.jl",
  "split Y.j 16 -> jo jl",
  "vectorize Y.jl",
  "compute_at sum_sq at Y.i",
  "parallel Y.i",
];
const STREAMED = [...ONE_PASS, "stream_store Y", "prefetch X in Y at jo ahead i 1"];
/** rmsnorm's output in blocks of two rows, each block's columns outside its rows. */
const ROW_BLOCKS = ["split Y.i 2 -> io ii", "split Y.j 16 -> jo jl", "reorder Y io jo ii jl"];

const rmsnorm = (rows: number, cols: number) => instantiate("rmsnorm", "small", { rows, cols });
const schedule = (program: ReturnType<typeof rmsnorm>, lines: readonly string[]) =>
  Schedule.fromTrace(program, parseTrace(lines.join("\n")));

function refusal(program: ReturnType<typeof rmsnorm>, lines: readonly string[]): string {
  try {
    schedule(program, lines);
  } catch (e) {
    if (e instanceof ScheduleError) return e.message;
    throw e;
  }
  throw new Error("the schedule was accepted");
}

describe("stream_store and prefetch", () => {
  it("print and parse back", () => {
    for (const line of ["stream_store Y", "prefetch X in Y at jo ahead i 1"])
      expect(printTransform(parseTransform(line))).toBe(line);
    expect(() => parseTransform("prefetch X in Y at jo ahead i")).toThrow(/DISTANCE/);
    expect(() => parseTransform("prefetch X in Y at jo ahead i 0")).toThrow(/positive integer/);
    const spread = "prefetch X in Y at ii ahead io 1 spread";
    expect(printTransform(parseTransform(spread))).toBe(spread);
    expect(() => parseTransform("prefetch X in Y at ii ahead io 1 wide")).toThrow(/'spread'/);
  });

  it("stream the output's vectors, fence them, and hoist the row's norm out of the loop", () => {
    const { source } = generateC(schedule(rmsnorm(64, 256), STREAMED).lower());
    expect(source).toMatch(/colt_stream_v16\(&Y/);
    expect(source).toContain("vmovntps");
    expect(source).toMatch(/colt_stream_fence\(\);\s*\}\s*\}\s*else/);
    // Past the streaming store (inline assembly) GCC no longer hoists loads: COLT does.
    expect(source).toMatch(/const float colt_hoisted_\d+ = \(1\.0f \/ sqrtf/);
    expect(source).toMatch(
      /__builtin_prefetch\(\(const void\*\)\(\(__UINTPTR_TYPE__\)X\w* \+ sizeof\(float\) \* \(size_t\)\(Y_jo\*16 \+ Y_i\*256 \+ 256\)\)/,
    );
    // Without them: plain stores and no prefetch; the norm is still hoisted (codegen/hoist.ts).
    const plain = generateC(schedule(rmsnorm(64, 256), ONE_PASS).lower()).source;
    for (const s of ["colt_stream", "__builtin_prefetch"]) expect(plain).not.toContain(s);
    expect(plain).toMatch(/const float colt_hoisted_\d+ = \(1\.0f \/ sqrtf/);
  });

  it("hoist one norm per unrolled row of a streamed row block, and compute the reference", async () => {
    const block = [
      "split sum_sq.j 16 -> jo jl",
      "cache_write sum_sq at i",
      "vectorize sum_sq.jl",
      "split Y.i 2 -> io ii",
      "split Y.j 16 -> jo jl",
      "reorder Y io jo ii jl",
      "unroll Y.ii",
      "vectorize Y.jl",
      "compute_at sum_sq at Y.io",
      "stream_store Y",
    ];
    const { source } = generateC(schedule(rmsnorm(8, 64), block).lower());
    // One value per unrolled row, filled before the column loop, read at constant indices.
    const declared = /float (colt_hoisted_\d+)\[2\];/.exec(source);
    expect(declared).not.toBeNull();
    const name = declared?.[1] ?? "";
    expect(source).toContain(`${name}[0])`);
    expect(source).toContain(`${name}[1])`);
    // A row count that does not divide: the block's last copy is guarded, nothing per copy.
    const ragged = generateC(schedule(rmsnorm(7, 45), block).lower()).source;
    expect(ragged).not.toMatch(/colt_hoisted_\d+\[/);
    const cases = [rmsnorm(8, 64), rmsnorm(7, 45)];
    const results = await inBatches(cases, 2, (p) => verifySchedule(schedule(p, block), opts));
    results.forEach((r, n) => expect(r.verified, `${cases[n].name}: ${r.error}`).toBe(true));
  });

  it("prefetches each copy of an unrolled row block", () => {
    const lines = [
      ...ROW_BLOCKS,
      "unroll Y.ii",
      "vectorize Y.jl",
      "prefetch X in Y at jo ahead io 1",
    ];
    const text = printLoopNest(schedule(rmsnorm(8, 64), lines).lower());
    expect(text).toContain("prefetch X[Y.io*2 + 2, Y.jo*16]");
    expect(text).toContain("prefetch X[Y.io*2 + 3, Y.jo*16]");
  });

  it("spread a prefetch over the loops in between: the next row block a line per step, into L1", async () => {
    const lines = [...ROW_BLOCKS, "vectorize Y.jl", "prefetch X in Y at ii ahead io 1 spread"];
    // Two rows of 64 ahead, 128 floats, over 4 x 2 steps of (jo, ii): 16 floats a step.
    const text = printLoopNest(schedule(rmsnorm(8, 64), lines).lower());
    expect(text).toContain("prefetch X[Y.io*2 + 2, Y.jo*32 + Y.ii*16] into L1");
    const { source } = generateC(schedule(rmsnorm(8, 64), lines).lower());
    expect(source).toMatch(/__builtin_prefetch\([^;]*, 0, 3\);/);
    const plain = generateC(schedule(rmsnorm(8, 64), STREAMED).lower()).source;
    expect(plain).toMatch(/__builtin_prefetch\([^;]*, 0, 2\);/);
    // Odd rows and columns: the last block's look-ahead points past X, which is harmless.
    const cases = [rmsnorm(7, 45), rmsnorm(8, 64)];
    const results = await inBatches(cases, 2, (p) => verifySchedule(schedule(p, lines), opts));
    results.forEach((r, n) => expect(r.verified, `${cases[n].name}: ${r.error}`).toBe(true));
  });

  it("compute the reference on rows that are not vector-aligned (the plain-store fallback) and on aligned ones", async () => {
    const cases = [rmsnorm(7, 45), rmsnorm(9, 331), rmsnorm(16, 256)];
    const results = await inBatches(cases, 2, (p) => verifySchedule(schedule(p, STREAMED), opts));
    results.forEach((r, n) => expect(r.verified, `${cases[n].name}: ${r.error}`).toBe(true));
  });

  it("refuse what would stream a partial result or look ahead along an inner loop", () => {
    const p = rmsnorm(16, 64);
    expect(refusal(p, [...ONE_PASS, "stream_store sum_sq"])).toMatch(
      /computed inside another stage/,
    );
    expect(refusal(p, ["stream_store sum_sq"])).toMatch(/accumulate locally first/);
    expect(refusal(p, [...ONE_PASS, "stream_store Y", "stream_store Y"])).toMatch(/already/);
    expect(refusal(p, ["prefetch weight in sum_sq at i ahead i 1"])).toMatch(/does not read/);
    expect(refusal(p, [...ONE_PASS, "prefetch X in Y at i ahead jo 1"])).toMatch(/must enclose/);
    expect(refusal(p, [...ONE_PASS, "prefetch X in Y at jl ahead i 1"])).toMatch(/vector loop/);
    expect(refusal(p, ["prefetch X in Y at j ahead i 1", "split Y.j 16 -> jo jl"])).toMatch(
      /prefetch of X is attached/,
    );
    expect(refusal(p, ["prefetch X in Y at j ahead i 1", "fuse Y.i Y.j"])).toMatch(
      /cannot fuse a loop that prefetch of X is attached to/,
    );
    expect(refusal(p, [...ONE_PASS, "prefetch X in Y at jo ahead jo 8 spread"])).toMatch(
      /needs loops between/,
    );
    // The weight's reads do not move with the row blocks: nothing to spread.
    const spreadWeight = [
      ...ROW_BLOCKS,
      "vectorize Y.jl",
      "prefetch weight in Y at ii ahead io 1 spread",
    ];
    expect(refusal(p, spreadWeight)).toMatch(/constant distance after the previous/);
  });

  it("are offered where they apply: streaming on x86 only, prefetch of an elementwise stage's inputs", () => {
    const s = schedule(rmsnorm(16, 64), ONE_PASS);
    // Private caches (1 KiB) smaller than the tensors: the moves only pay off past them.
    const smallCaches = (name: string) => {
      const t = findTarget(name);
      return { ...t, caches: { ...t.caches, l2Bytes: 1024 } };
    };
    const kinds = (target: string) =>
      legalMoves(s, { target: smallCaches(target) }).map((m) => printTransform(m.transform));
    const inCache = legalMoves(s, { target: findTarget("x86-avx512") }).map((m) =>
      printTransform(m.transform),
    );
    expect(inCache.some((m) => m.startsWith("stream_store") || m.startsWith("prefetch"))).toBe(
      false,
    );
    const x86 = kinds("x86-avx512");
    expect(x86).toContain("stream_store Y");
    expect(x86).toContain("prefetch X in Y at jo ahead i 4");
    expect(x86).toContain("prefetch X in Y at jo ahead jo 8");
    expect(x86.some((m) => m.startsWith("prefetch X in sum_sq"))).toBe(false);
    const neon = kinds("aarch64-neon");
    expect(neon).not.toContain("stream_store Y");
    expect(neon).toContain("prefetch X in Y at jo ahead i 4");
    // Spread only where a loop lies between the two: here none (i, jo, then the vector loop).
    expect(x86.some((m) => m.endsWith(" spread"))).toBe(false);
    const blocked = schedule(rmsnorm(16, 64), [...ROW_BLOCKS, "vectorize Y.jl"]);
    const moves = legalMoves(blocked, { target: smallCaches("x86-avx512") }).map((m) =>
      printTransform(m.transform),
    );
    expect(moves.filter((m) => m.endsWith(" spread"))).toEqual([
      expect.stringMatching(/^prefetch X in Y at ii ahead io \d+ spread$/),
    ]);
  });
});
