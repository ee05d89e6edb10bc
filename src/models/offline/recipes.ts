/**
 * Expert recipes: short transformation sequences a performance engineer would apply —
 * a register-blocked vectorized micro-kernel for contractions, a contiguous vector loop
 * for element-wise and row-wise stages (packing operands that are strided along it, or
 * preparing them once when they are weights), cache blocking of the reduction, preparing
 * the weights of contractions, an outer parallel loop, inlining producers.
 * A recipe is all or nothing: it is kept only when every step is accepted.
 */
import type { Axis, Program, Stage } from "../../ir/program.ts";
import { intervalOf } from "../../ir/int-expr.ts";
import { forEachRead, isConstant, isWeight, tensorShape } from "../../ir/program.ts";
import { copyBuysNothing } from "../../schedule/copy-reuse.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import { nominalExtents, stageDefinition, type StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";

export interface AppliedRecipe {
  readonly name: string;
  readonly schedule: Schedule;
  readonly steps: readonly Transform[];
}

export interface TileChoice {
  readonly mr: number;
  readonly nr: number;
  readonly width: number;
  readonly kc: number;
  /** Rows of the tallest tile of this width and nr the target's registers hold. */
  readonly maxRows: number;
  /** Columns of the widest tile any offered shape has: the most accumulators per row. */
  readonly widestNr: number;
  /** The target's vector widths, widest first: for extents narrower than `width`. */
  readonly widths: readonly number[];
}

/** Steps of a recipe for one stage, with loop names the stage has not used yet. */
export function recipeSteps(st: StageState): {
  readonly steps: Transform[];
  fresh(base: string): string;
  split(loop: string, factor: number, outer: string, inner: string): void;
} {
  const steps: Transform[] = [];
  return {
    steps,
    fresh(base) {
      let n = base;
      for (let i = 2; st.usedNames.has(n); i++) n = `${base}${i}`;
      return n;
    },
    split(loop, factor, outer, inner) {
      steps.push({ kind: "split", stage: st.name, loop, factor, outer, inner });
    },
  };
}

/**
 * How a contraction's column parts go to the threads: one contiguous part each ("static"),
 * or DYNAMIC_PARTS_PER_THREAD smaller parts per thread handed out one at a time to
 * whichever thread is free ("dynamic"): on a virtual machine whose two cores' speeds
 * differ by up to a third from one minute to the next (AMD EPYC Zen 5: flux-conv's
 * one-thread harness pinned to one core 13.0 ms and to the other 15.5 ms, twenty minutes
 * later 22.6 against 14.6 ms), equal parts wait for the slower core (llama4-scout-mlp on two
 * threads: 28.6-28.7 ms with 8 parts handed out against 30.4-31.2 ms with 2, alternating
 * three times).
 */
export type PartBalance = "static" | "dynamic";

const DYNAMIC_PARTS_PER_THREAD = 4;

/**
 * The columns of a part when a contraction's columns are cut into parts for the threads
 * (whole nr-wide panels), and the chunk that hands them out dynamically; undefined when
 * there is one part (or, dynamic, too few to hand out).
 */
export function columnParts(
  columns: number,
  threads: number,
  nr: number,
  balance: PartBalance = "static",
): { readonly part: number; readonly chunk?: number } | undefined {
  const parts = balance === "dynamic" ? threads * DYNAMIC_PARTS_PER_THREAD : threads;
  // At least two panels: a part of one panel leaves the recipes' panel split nothing to split.
  const panels = Math.ceil(columns / parts / nr);
  const part = (balance === "dynamic" ? Math.max(2, panels) : panels) * nr;
  if (threads < 2 || part >= columns) return undefined;
  if (balance === "static") return { part };
  // Handed out one at a time where there are at least two parts per thread.
  return Math.ceil(columns / part) >= 2 * threads ? { part, chunk: 1 } : undefined;
}

/**
 * On several threads with static balance, the parallel step over the outermost batch loop
 * of a batched contraction whose iterations split evenly over the threads, and how the
 * recipe's name tells it; undefined where no batch loop does (then the columns are cut).
 */
export function batchesInParallel(
  stage: string,
  batchAxes: readonly Axis[],
  threads: number,
  balance: PartBalance,
): { readonly step: Transform; readonly name: string } | undefined {
  if (threads < 2 || balance !== "static") return undefined;
  const even = batchAxes.find((a) => a.extent >= threads && a.extent % threads === 0);
  if (!even) return undefined;
  return {
    step: { kind: "parallel", stage, loop: even.name },
    name: `, its ${even.name} batches shared by ${threads} threads`,
  };
}

/** How a recipe's name tells its column parts. */
export function partsName(threads: number, parts: { readonly chunk?: number }): string {
  return parts.chunk
    ? ", column parts handed out to the threads"
    : `, ${threads} column parts in parallel`;
}

/** The parallel step over a column-part loop, dynamic where the parts are. */
export function partsInParallel(
  stage: string,
  loop: string,
  parts: { readonly chunk?: number },
): Transform {
  return { kind: "parallel", stage, loop, ...(parts.chunk ? { chunk: parts.chunk } : {}) };
}

/** Row counts up to which a contraction is treated as skinny (tokens of a decode or small batch). */
export const SKINNY_MAX_ROWS = 128;

/**
 * A register tile with fewer accumulators than the registers allow, on a skinny
 * contraction against a weight. Shorter than the registers allow: the row block that
 * first reads a weight panel waits for it to stream from memory while the others reuse
 * it from L1, so the fewer the row blocks, the less of the run waits. The analytic cost
 * model overlaps memory and compute over the whole kernel and ranks 4 x 32 tiles within
 * 1% of 8 x 32 on the Llama 4 MLP at paper size, which runs about 35% slower with them
 * (AMD EPYC Zen 4, x86-avx512). Narrower than the widest tile: one vector per row is one
 * FMA per weight load, and its shorter reduction blocks store the tile more often; on 2
 * threads `colt tune` kept 8 x 16 tiles (kc 64) on two of the MoE's four contractions and
 * ran 30% slower than the 8 x 32 hand schedule (AMD EPYC Zen 5). So such tiles are not
 * offered.
 */
export function shortTileOnSkinnyWeights(p: Program, stage: Stage, c: TileChoice): boolean {
  const rows = stage.axes.at(-2)?.extent;
  const cols = stage.axes.at(-1)?.extent;
  if (rows === undefined || cols === undefined) return false;
  if (rows > SKINNY_MAX_ROWS || stage.reduceAxes.length === 0) return false;
  let readsWeight = false;
  forEachRead(stage.body, (r) => {
    readsWeight ||= isWeight(p, r.tensor);
  });
  return readsWeight && belowWidestTile(c, rows, cols);
}

/**
 * The tile is shorter than the registers allow, or narrower than the widest tile where
 * the output has the columns for it: fewer accumulators than the shape of the output
 * permits.
 */
export function belowWidestTile(c: TileChoice, rows: number, cols: number): boolean {
  const short = Math.min(c.mr, rows) < Math.min(c.maxRows, rows);
  const narrow = c.nr < c.widestNr && cols >= c.widestNr;
  return short || narrow;
}

/** The stage's definition when it is an untouched contraction (one reduction, rows and columns). */
export function untouchedContraction(schedule: Schedule, st: StageState): Stage | undefined {
  const stage = stageDefinition(schedule.state.program, st.name);
  return untouchedStage(st) && stage.reduceAxes.length === 1 && stage.axes.length >= 2
    ? stage
    : undefined;
}

/** A stage no transformation has touched yet: where a whole recipe may start. */
export function untouchedStage(st: StageState): boolean {
  return (
    st.relations.length === 0 &&
    !st.cacheWriteAt &&
    st.copies.length === 0 &&
    st.prepared.length === 0 &&
    st.loops.every((l) => l.annotation === "serial")
  );
}

/** Applies every step or nothing. */
export function applyAll(
  schedule: Schedule,
  name: string,
  steps: readonly Transform[],
): AppliedRecipe | undefined {
  let s = schedule;
  for (const t of steps) {
    const r = s.tryApply(t);
    if (!r.ok) return undefined;
    s = r.schedule;
  }
  return steps.length > 0 ? { name, schedule: s, steps } : undefined;
}

/**
 * Applies `steps`, then vectorizes `vectorLoop`; when vectorizing is refused because a
 * read is strided, packs that tensor at `packAt` (layout follows the loops, so the
 * vector loop becomes its contiguous dimension), or prepares it once when it is a weight
 * (the same layout, with no copy left in the kernel), and tries again.
 */
function applyVectorized(
  schedule: Schedule,
  name: string,
  stage: string,
  steps: readonly Transform[],
  vectorLoop: string,
  packAt: string | undefined,
): AppliedRecipe | undefined {
  const all = [...steps];
  for (let attempt = 0; attempt < 4; attempt++) {
    const vectorize: Transform = { kind: "vectorize", stage, loop: vectorLoop };
    // No steps before it (a loop already as wide as a vector) leaves the schedule as it is.
    const base = all.length === 0 ? { schedule } : applyAll(schedule, name, all);
    if (!base) return undefined;
    const r = base.schedule.tryApply(vectorize);
    if (r.ok) return { name, schedule: r.schedule, steps: [...all, vectorize] };
    const strided = /read of (\w+) is not contiguous/.exec(r.error.reason);
    if (!strided || !packAt) return undefined;
    const tensor = strided[1];
    all.push(
      isConstant(schedule.state.program, tensor)
        ? { kind: "prepare", stage, tensor }
        : { kind: "pack", stage, tensor, at: packAt },
    );
  }
  return undefined;
}

function namer(st: StageState): (base: string) => string {
  const taken = new Set<string>();
  return (base) => {
    let n = base;
    for (let i = 2; st.usedNames.has(n) || taken.has(n); i++) n = `${base}${i}`;
    taken.add(n);
    return n;
  };
}

/** Stages worth scheduling, heaviest first (by iteration-space size). */
export function stagesByWork(schedule: Schedule): StageState[] {
  const p = schedule.state.program;
  const work = (st: StageState) =>
    [...stageDefinition(p, st.name).axes, ...stageDefinition(p, st.name).reduceAxes].reduce(
      (n, a) => n * a.extent,
      1,
    );
  return schedule.state.stages
    .filter((st) => st.placement.k !== "inline")
    .sort((a, b) => work(b) - work(a));
}

/**
 * Contractions: an mr x nr register tile, nr/width vectors wide, reductions outside it.
 * `panelOuter`: the column-panel loop outside the row loop, so an operand packed per panel
 * is packed once for every row of the stage (a block's rows, in attention's chain).
 */
export function registerTile(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  panelOuter = false,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const ext = nominalExtents(p, st);
  const spatial = st.loops.filter((l) => !l.reduce && l.annotation === "serial");
  const reductions = st.loops.filter((l) => l.reduce);
  if (
    shortTileOnSkinnyWeights(p, stageDefinition(p, st.name), c) ||
    reductions.length === 0 ||
    spatial.length < 2 ||
    st.cacheWriteAt ||
    st.loops.some((l) => l.annotation === "vector")
  ) {
    return undefined;
  }
  const [a, b] = [spatial[spatial.length - 2], spatial[spatial.length - 1]];
  const fresh = namer(st);
  const steps: Transform[] = [];
  const splitOrKeep = (
    loop: string,
    factor: number,
    outerBase: string,
    innerBase: string,
  ): [string | undefined, string] => {
    if (factor >= ext.get(loop)!) return [undefined, loop];
    const [o, i] = [fresh(outerBase), fresh(innerBase)];
    steps.push({ kind: "split", stage: st.name, loop, factor, outer: o, inner: i });
    return [o, i];
  };
  const nr = Math.min(c.nr, ext.get(b.name)!);
  const width = [c.width, ...c.widths].find((w) => w <= nr);
  if (!width) return undefined;
  const [ao, ai] = splitOrKeep(a.name, c.mr, `${a.name}o`, `${a.name}r`);
  const [bo, bi] = splitOrKeep(b.name, nr, `${b.name}o`, `${b.name}t`);
  const nrEff = Math.min(nr, ext.get(b.name)!);
  let bvo: string | undefined;
  let bv = bi;
  if (nrEff !== width) {
    [bvo, bv] = [fresh(`${b.name}w`), fresh(`${b.name}v`)];
    steps.push({ kind: "split", stage: st.name, loop: bi, factor: width, outer: bvo, inner: bv });
  }
  const others = st.loops.filter((l) => l !== a && l !== b && !l.reduce).map((l) => l.name);
  const tileLoops = panelOuter ? [bo, ao] : [ao, bo];
  const outer = [...others, ...tileLoops.filter((l): l is string => l !== undefined)];
  const order = [...outer, ...reductions.map((r) => r.name), ai, ...(bvo ? [bvo] : []), bv];
  steps.push({ kind: "reorder", stage: st.name, loops: order });
  const tileLoop = outer[outer.length - 1];
  if (!tileLoop) return undefined;
  steps.push({ kind: "cache_write", stage: st.name, at: tileLoop });
  if ((ao ? c.mr : ext.get(a.name)!) <= 64)
    steps.push({ kind: "unroll", stage: st.name, loop: ai });
  if (bvo) steps.push({ kind: "unroll", stage: st.name, loop: bvo });
  return applyVectorized(
    schedule,
    `register tile ${c.mr}x${nrEff} of ${st.name}${panelOuter ? ", panels outside rows" : ""}`,
    st.name,
    steps,
    bv,
    panelOuter ? (bo ?? tileLoop) : tileLoop,
  );
}

/** Element-wise and row-wise stages: the last spatial loop becomes an inner vector loop. */
export function vectorizeInner(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  const ext = nominalExtents(p, st);
  if (st.loops.some((l) => l.annotation === "vector")) return undefined;
  const spatial = st.loops.filter((l) => !l.reduce && l.annotation === "serial");
  const last = spatial[spatial.length - 1];
  if (!last) return undefined;
  const e = ext.get(last.name)!;
  const width = [c.width, ...c.widths].find((w) => w <= e);
  if (!width) return undefined;
  const fresh = namer(st);
  const steps: Transform[] = [];
  let outerLoop = last.name;
  let vec = last.name;
  if (e !== width) {
    [outerLoop, vec] = [fresh(`${last.name}o`), fresh(`${last.name}v`)];
    steps.push({
      kind: "split",
      stage: st.name,
      loop: last.name,
      factor: width,
      outer: outerLoop,
      inner: vec,
    });
  }
  const order = st.loops
    .map((l) => (l.name === last.name ? outerLoop : l.name))
    .filter((n) => n !== vec);
  const afterSplit = st.loops.flatMap((l) =>
    l.name !== last.name ? [l.name] : e !== width ? [outerLoop, vec] : [vec],
  );
  const wanted = [...order, vec];
  // A reorder that changes nothing is refused, and would sink the whole recipe.
  if (wanted.some((n, i) => n !== afterSplit[i]))
    steps.push({ kind: "reorder", stage: st.name, loops: wanted });
  const packAt = e !== width ? outerLoop : order[order.length - 1];
  return applyVectorized(
    schedule,
    `vectorize ${st.name}.${last.name} by ${width}`,
    st.name,
    steps,
    vec,
    packAt,
  );
}

/** Cache blocking of the outermost reduction loop, moved outside the spatial loops. */
export function blockReduction(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe | undefined {
  const ext = nominalExtents(schedule.state.program, st);
  const r0 = st.loops.find((l) => l.reduce);
  if (!r0 || r0.annotation !== "serial" || ext.get(r0.name)! <= c.kc) return undefined;
  const fresh = namer(st);
  const [rc, ri] = [fresh(`${r0.name}c`), fresh(`${r0.name}i`)];
  const firstReduce = st.loops.indexOf(r0);
  const outerSpatial = st.loops.slice(0, firstReduce).map((l) => l.name);
  return applyAll(schedule, `block ${st.name}.${r0.name} by ${c.kc}`, [
    { kind: "split", stage: st.name, loop: r0.name, factor: c.kc, outer: rc, inner: ri },
    { kind: "reorder", stage: st.name, loops: [rc, ...outerSpatial] },
  ]);
}

/** Operands worth packing: streamed tensors too large to stay in the private caches. */
const PACK_MIN_BYTES = 256 * 1024;

/**
 * Pack the large operands of a vectorized stage at its outermost reduction loop, where the
 * copy can pay (copy-reuse.ts: not a row reduction's row, read once and contiguous).
 */
export function packOperands(schedule: Schedule, st: StageState): AppliedRecipe | undefined {
  const vector = st.loops.some((l) => l.annotation === "vector");
  const block = st.loops.find((l) => l.reduce);
  if (!vector || !block) return undefined;
  const p = schedule.state.program;
  const steps: Transform[] = [];
  forEachRead(stageDefinition(p, st.name).body, (r) => {
    const bytes = tensorShape(p, r.tensor).reduce((n, d) => n * d, 4);
    const known =
      st.copies.some((c) => c.tensor === r.tensor) ||
      steps.some((s) => s.kind === "pack" && s.tensor === r.tensor);
    if (!known && bytes >= PACK_MIN_BYTES && !copyBuysNothing(p, st, r.tensor, block.name))
      steps.push({ kind: "pack", stage: st.name, tensor: r.tensor, at: block.name });
  });
  return applyAll(schedule, `pack operands of ${st.name}`, steps);
}

/**
 * Prepare the weights a vectorized contraction reads: each is re-laid once, before the
 * kernel runs, in the order its register tile reads it, whatever its size (a weight's
 * preparation costs nothing per call).
 */
export function prepareWeights(schedule: Schedule, st: StageState): AppliedRecipe | undefined {
  const vector = st.loops.some((l) => l.annotation === "vector");
  if (!vector || !st.loops.some((l) => l.reduce)) return undefined;
  const p = schedule.state.program;
  const steps: Transform[] = [];
  forEachRead(stageDefinition(p, st.name).body, (r) => {
    const known =
      st.prepared.includes(r.tensor) ||
      st.copies.some((c) => c.tensor === r.tensor) ||
      steps.some((s) => s.kind === "prepare" && s.tensor === r.tensor);
    if (!known && isWeight(p, r.tensor))
      steps.push({ kind: "prepare", stage: st.name, tensor: r.tensor });
  });
  return applyAll(schedule, `prepare weights of ${st.name}`, steps);
}

/**
 * A register tile that also prepares the weights it streams, as one recipe: the cost
 * model sees no difference between the two layouts, so offered alone the preparation
 * would lose to any step it predicts to gain; offered beside the plain tile, measuring
 * decides.
 */
export function registerTileOfPreparedWeights(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe | undefined {
  const tile = registerTile(schedule, st, c);
  if (!tile) return undefined;
  const tiled = tile.schedule.state.stages.find((x) => x.name === st.name);
  const prepared = tiled && prepareWeights(tile.schedule, tiled);
  if (!prepared) return undefined;
  return {
    name: `${tile.name}, weights prepared`,
    schedule: prepared.schedule,
    steps: [...tile.steps, ...prepared.steps],
  };
}

/**
 * Fusion: compute a single-consumer producer (a row statistic, an activation) inside its
 * consumer's outermost loop, so its values are still in cache when they are used.
 */
export function fuseIntoConsumer(schedule: Schedule, st: StageState): AppliedRecipe | undefined {
  const p = schedule.state.program;
  for (const producer of schedule.state.stages) {
    if (producer.placement.k !== "root" || p.outputs.includes(producer.name)) continue;
    let reads = false;
    forEachRead(stageDefinition(p, st.name).body, (r) => {
      reads ||= r.tensor === producer.name;
    });
    const outer = st.loops[0];
    if (!reads || !outer) continue;
    const applied = applyAll(schedule, `compute ${producer.name} at ${st.name}.${outer.name}`, [
      { kind: "compute_at", stage: producer.name, consumer: st.name, at: outer.name },
    ]);
    if (applied) return applied;
  }
  return undefined;
}

/**
 * One parallel loop: the outermost spatial loop of more than one iteration (only worth it
 * on more than one core; a loop of one, flux-conv's batch of one image, shares nothing).
 */
export function parallelOuter(
  schedule: Schedule,
  st: StageState,
  threads: number,
): AppliedRecipe | undefined {
  if (threads < 2 || st.loops.some((l) => l.annotation === "parallel")) return undefined;
  const extents = nominalExtents(schedule.state.program, st);
  const first = st.loops.find((l) => !l.reduce && (extents.get(l.name) ?? 1) > 1);
  if (!first) return undefined;
  return applyAll(schedule, `parallel ${st.name}.${first.name}`, [
    { kind: "parallel", stage: st.name, loop: first.name },
  ]);
}

/**
 * Inline every element-wise producer that can be inlined, except those whose select
 * guards a read that would otherwise go out of bounds (padding): inlined, they would
 * keep their consumer scalar.
 */
export function inlineProducers(schedule: Schedule): AppliedRecipe | undefined {
  const p = schedule.state.program;
  let s = schedule;
  const steps: Transform[] = [];
  for (const st of schedule.state.stages) {
    const stage = stageDefinition(p, st.name);
    if (st.placement.k !== "root" || p.outputs.includes(st.name) || stage.reduceAxes.length > 0)
      continue;
    const ranges = new Map([...stage.axes].map((a) => [a.name, { lo: 0, hi: a.extent - 1 }]));
    let guardedRead = false;
    forEachRead(stage.body, (r, guarded) => {
      const shape = tensorShape(p, r.tensor);
      const inBounds = r.idx.every((x, d) => {
        const iv = intervalOf(x, ranges);
        return iv.lo >= 0 && iv.hi < shape[d];
      });
      guardedRead ||= guarded && !inBounds;
    });
    if (guardedRead) continue;
    const t: Transform = { kind: "compute_inline", stage: st.name };
    const r = s.tryApply(t);
    if (r.ok) {
      s = r.schedule;
      steps.push(t);
    }
  }
  return steps.length > 0
    ? { name: "inline element-wise producers", schedule: s, steps }
    : undefined;
}

/** Every recipe that applies to one stage, in the order an engineer would try them. */
export function recipesFor(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
  threads: number,
): AppliedRecipe[] {
  return [
    registerTile(schedule, st, c),
    registerTileOfPreparedWeights(schedule, st, c),
    vectorizeInner(schedule, st, c),
    blockReduction(schedule, st, c),
    packOperands(schedule, st),
    prepareWeights(schedule, st),
    fuseIntoConsumer(schedule, st),
    parallelOuter(schedule, st, threads),
  ].filter((r): r is AppliedRecipe => r !== undefined);
}
