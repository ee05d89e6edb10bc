/**
 * Recipes for memory-bound row operators (softmax, rmsnorm, layernorm, the row statistics
 * of attention): a reduction vectorized into vector accumulators combined horizontally,
 * and the one-pass form, where every row statistic and row intermediate is computed inside
 * the output's row loop, so each row is read from memory once and reused from L1.
 */
import { freeVars } from "../../ir/int-expr.ts";
import { forEachRead, type Program, type Stage } from "../../ir/program.ts";
import {
  consumersOf,
  loopExtents,
  stageDefinition,
  type StageState,
} from "../../schedule/state.ts";
import { dynamicChunk, passesPrivateCaches } from "../../schedule/enumerate.ts";
import { prefetchDistance } from "../../schedule/prefetch-distance.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import type { Transform } from "../../schedule/transform.ts";
import type { Target } from "../../target/target.ts";
import { applyAll, vectorizeInner, type AppliedRecipe, type TileChoice } from "./recipes.ts";

/** Independent vector accumulators per reduction: enough to hide the add latency. */
const ACCUMULATORS = 4;

/**
 * The innermost reduction loop split into ACCUMULATORS unrolled vectors of `c.width` lanes
 * (fewer when the row is short), accumulated in registers just outside the reduction loops.
 */
export function vectorReduction(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe | undefined {
  const stage = stageDefinition(schedule.state.program, st.name);
  const untouched =
    st.relations.length === 0 &&
    !st.cacheWriteAt &&
    st.loops.every((l) => l.annotation === "serial");
  const last = st.loops.at(-1);
  const firstReduce = st.loops.findIndex((l) => l.reduce);
  if (!untouched || !last?.reduce || stage.reduceAxes.length !== 1 || firstReduce < 1)
    return undefined;
  const extent = stage.reduceAxes[0].extent;
  const width = [c.width, ...c.widths].find((w) => w <= extent);
  if (!width) return undefined;
  const s = st.name;
  const j = last.name;
  const steps: Transform[] = [];
  let lanes = j;
  let accumulators: string | undefined;
  if (extent > ACCUMULATORS * width) {
    steps.push(
      {
        kind: "split",
        stage: s,
        loop: j,
        factor: ACCUMULATORS * width,
        outer: `${j}o`,
        inner: `${j}1`,
      },
      { kind: "split", stage: s, loop: `${j}1`, factor: width, outer: `${j}a`, inner: `${j}v` },
    );
    [accumulators, lanes] = [`${j}a`, `${j}v`];
  } else if (extent > width) {
    steps.push({ kind: "split", stage: s, loop: j, factor: width, outer: `${j}o`, inner: `${j}v` });
    lanes = `${j}v`;
  }
  steps.push({ kind: "cache_write", stage: s, at: st.loops[firstReduce - 1].name });
  if (accumulators) steps.push({ kind: "unroll", stage: s, loop: accumulators });
  steps.push({ kind: "vectorize", stage: s, loop: lanes });
  return applyAll(schedule, `vector accumulators for ${s}.${j}`, steps);
}

/**
 * Rows of an output that reads a row-invariant operand (layernorm's gamma and beta) in
 * blocks of `rows`, the block's rows unrolled inside the vector loop's outer loop: each
 * vector of the operand is loaded once per block, not once per row. A row of layernorm at
 * paper size with its operands (48 KiB) overflows L1, so each load went to L2 (2-row
 * blocks: 12% less time per row, Zen 4).
 */
function blockRowsAroundWeights(
  schedule: Schedule,
  st: StageState,
  rows: number,
): AppliedRecipe | undefined {
  const stage = stageDefinition(schedule.state.program, st.name);
  const row = st.loops[0];
  const vector = st.loops.at(-1);
  // Whole blocks only: a guarded last block leaves the row statistics' scalar work (an
  // rsqrt) inside the vector loop, where the compiler no longer hoists it (rmsnorm 7x11008
  // blocked by 2 took 1.7x the time).
  const wholeBlocks = (stage.axes[0]?.extent ?? 0) % rows === 0;
  if (!row || vector?.annotation !== "vector" || !wholeBlocks) return undefined;
  if (!readsRowInvariantOperand(stage)) return undefined;
  const [outer, inner] = [`${row.name}o`, `${row.name}b`];
  if (st.usedNames.has(outer) || st.usedNames.has(inner)) return undefined;
  const middle = st.loops.slice(1, -1).map((l) => l.name);
  return applyAll(schedule, "", [
    { kind: "split", stage: st.name, loop: row.name, factor: rows, outer, inner },
    { kind: "reorder", stage: st.name, loops: [outer, ...middle, inner, vector.name] },
    { kind: "unroll", stage: st.name, loop: inner },
  ]);
}

/**
 * The one-pass form of a row operator: every stage vectorized (reductions into vector
 * accumulators, the others along their last loop), an output reading row-invariant
 * operands blocked by `rowBlock` rows (when above 1), then every intermediate computed
 * inside the (block) row loop of the stage that reads it, last producer first (a producer
 * read by several stages once they all are computed in that loop), then the output's rows
 * in parallel. How the rows are shared out (`sharing`): one equal part per thread
 * ("static"); handed out in chunks to whichever thread is free ("dynamic": with the output
 * streamed, rmsnorm and layernorm at paper size on two threads of an AMD EPYC Zen 5 VM took
 * 295-299 against 323-343 us and 266-273 against 310-313 us, medians alternating three and
 * two times, as C with OMP_SCHEDULE; the cores' share of the memory varies while they run);
 * or ("parts") first split into one part per thread, the parts in parallel and the rows of
 * each part a serial loop, which the intermediates are computed in (and which `pipeline`
 * can overlap: streamedRows).
 */
export function rowsInOnePass(
  schedule: Schedule,
  c: TileChoice,
  threads: number,
  rowBlock = 1,
  sharing: "static" | "dynamic" | "parts" = "static",
): AppliedRecipe | undefined {
  const program = schedule.state.program;
  const partsPerThread = sharing === "parts";
  if (!isRowOperator(program) || (sharing !== "static" && threads < 2)) return undefined;
  const chain = new StepChain(schedule);
  chain.take(vectorizeStages(schedule, c));
  if (rowBlock > 1) {
    const blocked = program.outputs.map((out) => {
      const applied = blockRowsAroundWeights(chain.schedule, chain.stage(out), rowBlock);
      chain.take(applied);
      return applied;
    });
    if (!blocked.some((b) => b !== undefined)) return undefined;
  }
  const rowLoops = new Map<string, string>();
  if (partsPerThread) {
    for (const out of program.outputs) {
      const split = rowsPerThread(chain.schedule, chain.stage(out), threads);
      if (!split) return undefined;
      chain.take(split.applied);
      rowLoops.set(out, split.rows);
    }
  }
  for (const stage of [...program.stages].reverse()) {
    const st = chain.stage(stage.name);
    if (st.placement.k !== "root" || program.outputs.includes(stage.name)) continue;
    const consumers = consumersOf(program, stage.name);
    const host =
      consumers.find((q) => chain.stage(q).placement.k === "root") ??
      (consumers.length === 1 ? consumers[0] : undefined);
    const rowLoop = host && (rowLoops.get(host) ?? chain.stage(host).loops[0]?.name);
    if (!rowLoop) continue;
    chain.take(
      applyAll(chain.schedule, "", [
        { kind: "compute_at", stage: stage.name, consumer: host, at: rowLoop },
      ]),
    );
  }
  if (threads > 1 && !partsPerThread) {
    for (const out of program.outputs) {
      const st = chain.stage(out);
      const first = st.loops[0];
      if (!first || first.reduce) continue;
      const chunk = sharing === "dynamic" ? rowChunk(chain.schedule, st, threads) : undefined;
      if (sharing === "dynamic" && chunk === undefined) return undefined;
      chain.take(
        applyAll(chain.schedule, "", [
          { kind: "parallel", stage: out, loop: first.name, ...(chunk ? { chunk } : {}) },
        ]),
      );
    }
  }
  const shared = sharing === "dynamic" ? ", rows shared out dynamically" : "";
  return chain.recipe(
    rowBlock > 1
      ? `rows in one pass, ${rowBlock} rows per block around the row-invariant operands${shared}`
      : `rows in one pass: vector reductions, row statistics computed per row${shared}`,
  );
}

/** The chunk of the output's first loop when its rows are shared out dynamically. */
function rowChunk(schedule: Schedule, st: StageState, threads: number): number | undefined {
  return dynamicChunk(firstLoopExtent(schedule, st), threads);
}

/** The trip count of a stage's first (row) loop. */
function firstLoopExtent(schedule: Schedule, st: StageState): number {
  const stage = stageDefinition(schedule.state.program, st.name);
  const axes = new Map(stage.axes.map((a) => [a.name, a.extent]));
  return loopExtents(st, axes).get(st.loops[0].name) ?? 0;
}

/** The output's row loop split into one part per thread, the parts in parallel. */
function rowsPerThread(
  schedule: Schedule,
  st: StageState,
  threads: number,
): { applied: AppliedRecipe; rows: string } | undefined {
  const row = st.loops[0];
  if (!row || row.reduce) return undefined;
  const extent = firstLoopExtent(schedule, st);
  const factor = Math.ceil(extent / threads);
  const [parts, rows] = [`${row.name}t`, `${row.name}r`];
  if (factor < 2 || factor >= extent || st.usedNames.has(parts) || st.usedNames.has(rows))
    return undefined;
  const applied = applyAll(schedule, "", [
    { kind: "split", stage: st.name, loop: row.name, factor, outer: parts, inner: rows },
    { kind: "parallel", stage: st.name, loop: parts },
  ]);
  return applied && { applied, rows };
}

/**
 * A one-pass form with its output streamed past the caches (x86) and the next row of each
 * row input prefetched while this row is finished: by the output where it reads a row input
 * itself, else by a stage computed in the output's row loop that does (softmax's exps,
 * whose exp work hides the fetch). The row statistics of the next row then read it from L2.
 * rmsnorm 1024x4096 as C by hand (Zen 5): 708 us, 628 us streamed, 505 us with both; the
 * prefetch alone made it slower. softmax at paper size (Intel Xeon, Emerald Rapids, one
 * thread): 32-38 ms, 25-32 ms streamed, 18-21 ms with the prefetch in exps.
 */
export function streamedRows(
  recipe: AppliedRecipe,
  target: Target,
  threads: number,
): AppliedRecipe | undefined {
  const chain = new StepChain(recipe.schedule);
  chain.steps.push(...recipe.steps);
  const program = recipe.schedule.state.program;
  const streams = (tensor: string) => passesPrivateCaches(program, tensor, target, threads);
  let changed = false;
  let pipelined = false;
  for (const out of program.outputs) {
    const st = chain.stage(out);
    if (st.placement.k !== "root" || !st.loops.some((l) => l.annotation === "vector")) continue;
    // The loop the row's intermediates are computed in: the first, or the rows of each
    // thread's part (rowsInOnePass sharing "parts").
    const placedIn = (x: StageState) =>
      x.placement.k === "at" && x.placement.consumer === out ? x.placement.loop : undefined;
    const stages = chain.schedule.state.stages;
    const rowLoop = stages.map(placedIn).find((l) => l !== undefined) ?? st.loops[0].name;
    const inRow = stages.filter((x) => placedIn(x) === rowLoop);
    const prefetches = [st, ...inRow]
      .map((host) =>
        rowPrefetches(program, host, host === st ? rowLoop : host.loops[0].name, streams),
      )
      .find((p) => p.length > 0);
    // Streaming alone, an output computed from a row already in L1 (softmax's normalized
    // exps), measured slower: softmax paper 12.9 ms against 8.6 ms without it (Zen 5 VM).
    if (!prefetches) continue;
    const steps: Transform[] = [];
    if (target.isa.arch === "x86_64" && streams(out))
      steps.push({ kind: "stream_store", stage: out });
    const applied = applyAll(chain.schedule, "", [...steps, ...prefetches]);
    if (applied) changed = true;
    chain.take(applied);
    // A serial row loop (one thread, or the rows of each thread's part): the next row's
    // producers run while this row is written out (softmax paper, Zen 5 VM: 6.4 -> 5.1 ms
    // as C by hand).
    const serial = chain.stage(out).loops.find((l) => l.name === rowLoop)?.annotation === "serial";
    if (inRow.length > 0 && serial) {
      const overlapped = applyAll(chain.schedule, "", [
        { kind: "pipeline", stage: out, loop: rowLoop },
      ]);
      if (overlapped) pipelined = true;
      chain.take(overlapped);
    }
  }
  const name = `${recipe.name}, output streamed, next row prefetched${pipelined ? ", rows pipelined" : ""}`;
  return changed ? chain.recipe(name) : undefined;
}

/**
 * A prefetch of the next row (the next step of `rowLoop`) of each input the stage reads
 * along its row (first) axis, issued from the loop around its vector loop: none for a
 * stage not vectorized, or for inputs that stay in the private caches.
 */
function rowPrefetches(
  program: Program,
  st: StageState,
  rowLoop: string,
  streams: (tensor: string) => boolean,
): Transform[] {
  const vectorAt = st.loops.findIndex((l) => l.annotation === "vector");
  if (vectorAt < 1) return [];
  const rowAxis = stageDefinition(program, st.name).axes[0]?.name;
  const out: Transform[] = [];
  forEachRead(stageDefinition(program, st.name).body, (r) => {
    const rowInput =
      program.inputs.some((t) => t.name === r.tensor) &&
      streams(r.tensor) &&
      r.idx.length > 0 &&
      freeVars(r.idx[0]).has(rowAxis);
    if (rowInput && !out.some((t) => t.kind === "prefetch" && t.tensor === r.tensor)) {
      out.push({
        kind: "prefetch",
        stage: st.name,
        tensor: r.tensor,
        at: st.loops[vectorAt - 1].name,
        ahead: rowLoop,
        distance: prefetchDistance(program, st, r.tensor, rowLoop),
      });
    }
  });
  return out;
}

/** Recipe steps applied one after another, each to the schedule the previous one left. */
class StepChain {
  readonly steps: Transform[] = [];

  constructor(public schedule: Schedule) {}

  take(applied: AppliedRecipe | undefined): void {
    if (!applied) return;
    this.schedule = applied.schedule;
    this.steps.push(...applied.steps);
  }

  stage(name: string): StageState {
    return this.schedule.state.stages.find((x) => x.name === name)!;
  }

  recipe(name: string): AppliedRecipe | undefined {
    return this.steps.length > 0 ? { name, schedule: this.schedule, steps: this.steps } : undefined;
  }
}

/** A program of row reductions; contractions (matmuls, attention) have their own recipes. */
function isRowOperator(program: Program): boolean {
  const reductions = program.stages.filter((x) => x.reduceAxes.length > 0);
  return reductions.length > 0 && !reductions.some(isContraction);
}

/** Every stage vectorized: reductions into vector accumulators, the others along their last loop. */
function vectorizeStages(schedule: Schedule, c: TileChoice): AppliedRecipe | undefined {
  let s = schedule;
  const steps: Transform[] = [];
  for (const stage of schedule.state.program.stages) {
    const st = s.state.stages.find((x) => x.name === stage.name)!;
    if (st.placement.k === "inline") continue;
    const applied =
      stage.reduceAxes.length > 0 ? vectorReduction(s, st, c) : vectorizeInner(s, st, c);
    if (!applied) continue;
    s = applied.schedule;
    steps.push(...applied.steps);
  }
  return steps.length > 0 ? { name: "every stage vectorized", schedule: s, steps } : undefined;
}

/** Whether the stage reads a tensor that does not depend on its row (first) axis: a weight. */
function readsRowInvariantOperand(stage: Stage): boolean {
  const rowAxis = stage.axes[0]?.name;
  let reads = false;
  forEachRead(stage.body, (r) => {
    const rowFree = r.idx.every((x) => !freeVars(x).has(rowAxis));
    if (rowFree && r.idx.some((x) => freeVars(x).size > 0)) reads = true;
  });
  return rowAxis !== undefined && reads;
}

/** Rows up to which the rows-inner form is offered: their rows stay in L2 between passes. */
const FEW_ROWS = 8;

/**
 * The form for a few long rows against a weight (rmsnorm 7x11008): every stage vectorized,
 * the row statistics in their own pass over all rows (a few rows stay in L2), then the
 * output with its rows inside the vector loop's outer loop, so each vector of the weight
 * is loaded once for all rows. A row of 44 KiB overflows L1 either way; this form took
 * 0.79x the one-pass form's time there (Zen 4, one thread).
 */
export function fewRowsAroundWeights(schedule: Schedule, c: TileChoice): AppliedRecipe | undefined {
  const program = schedule.state.program;
  if (!isRowOperator(program)) return undefined;
  const outputs = program.outputs.map((o) => stageDefinition(program, o));
  const rows = outputs[0]?.axes[0]?.extent ?? 0;
  if (rows < 2 || rows > FEW_ROWS || !outputs.some(readsRowInvariantOperand)) return undefined;
  const chain = new StepChain(schedule);
  chain.take(vectorizeStages(schedule, c));
  for (const out of outputs) {
    const st = chain.stage(out.name);
    const vector = st.loops.at(-1);
    if (!readsRowInvariantOperand(out) || vector?.annotation !== "vector" || st.loops.length < 3)
      continue;
    const [row, ...middle] = st.loops.slice(0, -1).map((l) => l.name);
    chain.take(
      applyAll(chain.schedule, "", [
        { kind: "reorder", stage: out.name, loops: [...middle, row, vector.name] },
      ]),
    );
  }
  return chain.recipe("few rows: statistics in their own pass, rows inside the weight's loop");
}

/** A reduction that reads two different tensors along its reduction axes (a matmul). */
function isContraction(stage: Stage): boolean {
  const reduced = new Set(stage.reduceAxes.map((a) => a.name));
  const operands = new Set<string>();
  forEachRead(stage.body, (r) => {
    if (r.idx.some((x) => [...freeVars(x)].some((v) => reduced.has(v)))) operands.add(r.tensor);
  });
  return operands.size > 1;
}
