/**
 * The Winograd recipe for a stride-1 3x3 convolution, as
 * `examples/schedules/flux-conv-winograd-paper.sched` writes it by hand: `winograd`
 * turns the convolution into 16 GEMMs of 4/9 of its multiply-adds, the BLIS recipe
 * blocks them (over the whole reduction where a panel of it fits the L2; the transformed
 * filter prepared once as its row panels), and the light
 * input and output transforms are vectorized along the tile axis, their outputs and
 * reductions unrolled into registers, so their coefficients fold into additions and
 * subtractions. The input transform runs channel by channel (outermost), so each
 * channel's deinterleaved rows stay in L1 across the 16 (e, f) pairs. The padding is
 * inlined into the deinterleave (no padded copy written and read back). On several
 * threads the one-float copies (deinterleave, the interleaved output read by the
 * convolution's consumers) are split across them too. Folded transforms and the padding
 * inlined: flux-conv at paper size 14.27 -> 13.68 ms on one thread, 8.50 -> 7.91 ms on
 * two (AMD EPYC Zen 5 VM, alternating three times).
 */
import { forEachRead, type Program, type Stage } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import { consumersOf, stageDefinition, stageState, type StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import { blisGemm, blisGemmWholeReduction } from "./blis-gemm.ts";
import { applyAll, type AppliedRecipe, type TileChoice } from "./recipes.ts";

export function winogradConv(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  l2Bytes: number,
  threads = 1,
): AppliedRecipe | undefined {
  const program = schedule.state.program;
  const stage = stageDefinition(program, st.name);
  // The transform itself refuses a touched stage or one that is not a 3x3 convolution.
  if (stage.axes.length !== 4 || stage.reduceAxes.length !== 3) return undefined;
  const rewrite: Transform = { kind: "winograd", stage: st.name };
  const rewritten = schedule.tryApply(rewrite);
  if (!rewritten.ok) return undefined;
  const before = new Set(program.stages.map((s) => s.name));
  const added = rewritten.schedule.state.program.stages
    .map((s) => s.name)
    .filter((n) => !before.has(n));
  // In the order winograd adds them: the three tables, U, D, V, M and the output transform.
  const [, , , , deinterleaved, inputTransform, gemm, outputTransform] = added;
  const gemmState = stageState(rewritten.schedule.state, gemm);
  const blocked =
    blisGemmWholeReduction(rewritten.schedule, gemmState, c, l2Bytes, threads) ??
    blisGemm(rewritten.schedule, gemmState, c, threads);
  if (!blocked) return undefined;
  const w = c.width;
  const next = rewritten.schedule.state.program;
  const parallel = (stageName: string, loop: string): Transform[] =>
    threads > 1 ? [{ kind: "parallel", stage: stageName, loop }] : [];
  // The padding (an element-wise producer) is read where the deinterleave reads it.
  const inlined = producersOf(program, stage).filter(
    (name) => stageDefinition(program, name).reduceAxes.length === 0,
  );
  const steps: Transform[] = [
    rewrite,
    ...blocked.steps,
    ...parallel(deinterleaved, "c"),
    ...vectorTransform(next, inputTransform, {
      axis: "t",
      width: w,
      outer: ["n", "c"],
      registers: ["e", "f"],
      reductions: ["a", "b"],
    }),
    ...parallel(inputTransform, "c"),
    { kind: "split", stage: outputTransform, loop: "y", factor: 2, outer: "yo", inner: "yi" },
    ...vectorTransform(next, outputTransform, {
      axis: "h",
      width: w,
      outer: ["n", "o", "yo"],
      registers: ["yi", "p"],
      reductions: ["e", "f"],
    }),
    { kind: "compute_inline", stage: st.name },
    ...inlined.map((name): Transform => ({ kind: "compute_inline", stage: name })),
  ];
  const name = `Winograd F(2x2,3x3) of ${st.name}: 16 GEMMs ${gemm} (${blocked.name}), transforms vectorized by ${w}`;
  const perChannel = outputPerChannel(rewritten.schedule, outputTransform, st.name);
  const applied =
    (perChannel && applyAll(schedule, name, [...steps, perChannel])) ??
    applyAll(schedule, name, [...steps, ...parallel(outputTransform, "o")]);
  if (!applied || threads < 2) return applied;
  // The convolution's consumers now read the interleaved output, and its producers write
  // what the deinterleave reads: one part per thread each, unless one is parallel already.
  const neighbours = [
    ...producersOf(program, stage).filter((name) => !inlined.includes(name)),
    ...consumersOf(applied.schedule.state.program, st.name),
  ];
  const spreadSteps: Transform[] = neighbours
    .map((name) => stageState(applied.schedule.state, name))
    .filter(
      (s) =>
        s.placement.k === "root" &&
        s.loops.length > 1 &&
        !s.loops.some((l) => l.annotation === "parallel"),
    )
    .map((s) => ({ kind: "parallel", stage: s.name, loop: s.loops[1].name }));
  const spread = applyAll(applied.schedule, applied.name, spreadSteps);
  return spread ? { ...spread, steps: [...applied.steps, ...spread.steps] } : applied;
}

/**
 * The output transform computed per output channel inside the convolution's one
 * element-wise consumer (the bias add), at the consumer's channel loop: each channel's
 * tiles are read back while in cache instead of the whole transformed output written and
 * read again (flux-conv at paper size 13.5 -> 13.1 ms on one thread, 8.1 -> 7.1 with the
 * GEMMs shared by batches on two, AMD EPYC Zen 5 VM, alternating); undefined where the
 * convolution has no such consumer. The consumer's channel loop, parallel on several
 * threads, shares the transform out with it.
 */
function outputPerChannel(
  schedule: Schedule,
  outputTransform: string,
  conv: string,
): Transform | undefined {
  const program = schedule.state.program;
  const consumers = consumersOf(program, conv);
  if (consumers.length !== 1) return undefined;
  const consumer = stageDefinition(program, consumers[0]);
  const channel = consumer.axes[1];
  if (consumer.reduceAxes.length !== 0 || consumer.axes.length !== 4 || !channel) return undefined;
  return { kind: "compute_at", stage: outputTransform, consumer: consumer.name, at: channel.name };
}

/** The stages whose output `stage` reads (not the program's inputs). */
function producersOf(program: Program, stage: Stage): string[] {
  const read = new Set<string>();
  forEachRead(stage.body, (r) => read.add(r.tensor));
  return program.stages.filter((s) => s !== stage && read.has(s.name)).map((s) => s.name);
}

interface TransformLoops {
  /** The tile axis, vectorized by `width`. */
  readonly axis: string;
  readonly width: number;
  readonly outer: readonly string[];
  /** Spatial loops unrolled inside the tile loop: one register accumulator per iteration. */
  readonly registers: readonly string[];
  readonly reductions: readonly string[];
}

/**
 * A transform stage vectorized along its tile axis: per vector of tiles, its 4x4 (or 2x2)
 * outputs accumulate in registers, the `registers` and `reductions` loops unrolled inside.
 * Unrolled, every coefficient of the transform matrices is read at constant indices, so
 * the generated code folds them (codegen/fold-tables.ts): the input transform becomes 4
 * additions per output instead of 16 products, the output transform 9.
 */
function vectorTransform(program: Program, stage: string, l: TransformLoops): Transform[] {
  const extent = stageDefinition(program, stage).axes.find((a) => a.name === l.axis)!.extent;
  // A row of exactly one vector needs no split: the accumulator lives under the last outer loop.
  const split = extent > l.width;
  const [tileOuter, tileInner] = split
    ? [`${l.axis}o`, `${l.axis}i`]
    : [l.outer[l.outer.length - 1], l.axis];
  return [
    ...(split
      ? [
          {
            kind: "split",
            stage,
            loop: l.axis,
            factor: l.width,
            outer: tileOuter,
            inner: tileInner,
          } as const,
        ]
      : []),
    {
      kind: "reorder",
      stage,
      loops: [
        ...l.outer,
        ...(split ? [tileOuter] : []),
        ...l.registers,
        ...l.reductions,
        tileInner,
      ],
    },
    { kind: "cache_write", stage, at: tileOuter },
    ...[...l.registers, ...l.reductions].map((loop): Transform => ({
      kind: "unroll",
      stage,
      loop,
    })),
    { kind: "vectorize", stage, loop: tileInner },
  ];
}
