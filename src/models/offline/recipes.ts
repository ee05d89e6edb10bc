/**
 * Expert recipes: short transformation sequences a performance engineer would apply —
 * a register-blocked vectorized micro-kernel for contractions, a contiguous vector loop
 * for element-wise and row-wise stages, packing the operand streamed along the vector
 * loop, cache blocking of the reduction, an outer parallel loop, inlining producers.
 * Each recipe is tried on the schedule; only the steps it accepts are kept.
 */
import type { Program, Stage } from "../../ir/program.ts";
import { forEachRead } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import { loopExtents, type StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";

export interface Recipe {
  readonly name: string;
  readonly steps: readonly Transform[];
}

export interface AppliedRecipe {
  readonly name: string;
  readonly schedule: Schedule;
  /** The accepted steps, in order. */
  readonly steps: readonly Transform[];
}

/** Applies the steps that the schedule accepts; a recipe with no accepted step gives undefined. */
export function applyRecipe(
  schedule: Schedule,
  recipe: Recipe,
  required = 1,
): AppliedRecipe | undefined {
  let s = schedule;
  const accepted: Transform[] = [];
  for (const t of recipe.steps) {
    const r = s.tryApply(t);
    if (r.ok) {
      s = r.schedule;
      accepted.push(t);
    }
  }
  return accepted.length >= required
    ? { name: recipe.name, schedule: s, steps: accepted }
    : undefined;
}

function stageOf(p: Program, name: string): Stage {
  return p.stages.find((s) => s.name === name)!;
}

function fresh(st: StageState, base: string, taken: Set<string>): string {
  let n = base;
  for (let i = 2; st.usedNames.has(n) || taken.has(n); i++) n = `${base}${i}`;
  taken.add(n);
  return n;
}

function extentsOf(p: Program, st: StageState): Map<string, number> {
  const stage = stageOf(p, st.name);
  return loopExtents(
    st,
    new Map([...stage.axes, ...stage.reduceAxes].map((a) => [a.name, a.extent])),
  );
}

/** Stages worth scheduling, heaviest first (by iteration-space size). */
export function stagesByWork(schedule: Schedule): StageState[] {
  const p = schedule.state.program;
  const work = (st: StageState) =>
    [...stageOf(p, st.name).axes, ...stageOf(p, st.name).reduceAxes].reduce(
      (n, a) => n * a.extent,
      1,
    );
  return schedule.state.stages
    .filter((st) => st.placement.k !== "inline")
    .sort((a, b) => work(b) - work(a));
}

/** All recipe instances for one stage, with the given register-tile and vector choices. */
export function recipesFor(
  schedule: Schedule,
  st: StageState,
  choice: { mr: number; nr: number; width: number; kc: number },
): Recipe[] {
  const p = schedule.state.program;
  const stage = stageOf(p, st.name);
  const ext = extentsOf(p, st);
  const out: Recipe[] = [];
  const spatial = st.loops.filter((l) => !l.reduce && l.annotation === "serial");
  const reductions = st.loops.filter((l) => l.reduce);
  const last = spatial[spatial.length - 1];
  const alreadyVector = st.loops.some((l) => l.annotation === "vector");

  // Contractions: register tile mr x nr with nr/width vectors, reduction loops outside it.
  if (!alreadyVector && reductions.length > 0 && spatial.length >= 2 && !st.cacheWriteAt) {
    const a = spatial[spatial.length - 2];
    const b = last;
    const taken = new Set<string>();
    const [ao, ai, bo, bi, bvo, bv] = [
      fresh(st, `${a.name}o`, taken),
      fresh(st, `${a.name}r`, taken),
      fresh(st, `${b.name}o`, taken),
      fresh(st, `${b.name}t`, taken),
      fresh(st, `${b.name}w`, taken),
      fresh(st, `${b.name}v`, taken),
    ];
    const nr = Math.min(choice.nr, ext.get(b.name)!);
    const width = Math.min(choice.width, nr);
    const steps: Transform[] = [
      { kind: "split", stage: st.name, loop: a.name, factor: choice.mr, outer: ao, inner: ai },
      { kind: "split", stage: st.name, loop: b.name, factor: nr, outer: bo, inner: bi },
      { kind: "split", stage: st.name, loop: bi, factor: width, outer: bvo, inner: bv },
    ];
    const others = st.loops.filter((l) => l !== a && l !== b && !l.reduce).map((l) => l.name);
    steps.push({
      kind: "reorder",
      stage: st.name,
      loops: [...others, ao, bo, ...reductions.map((r) => r.name), ai, bvo, bv],
    });
    steps.push({ kind: "cache_write", stage: st.name, at: bo });
    steps.push({ kind: "unroll", stage: st.name, loop: ai });
    steps.push({ kind: "unroll", stage: st.name, loop: bvo });
    steps.push({ kind: "vectorize", stage: st.name, loop: bv });
    out.push({ name: `register tile ${choice.mr}x${nr} of ${st.name}`, steps });
  }

  // Element-wise and row-wise stages: make the contiguous spatial loop an inner vector loop.
  if (!alreadyVector && last && ext.get(last.name)! >= 4) {
    const taken = new Set<string>();
    const e = ext.get(last.name)!;
    const width = [choice.width, 16, 8, 4].find((w) => w <= e) ?? 4;
    const [lo, lv] = [fresh(st, `${last.name}o`, taken), fresh(st, `${last.name}v`, taken)];
    const steps: Transform[] = [];
    if (e !== width)
      steps.push({
        kind: "split",
        stage: st.name,
        loop: last.name,
        factor: width,
        outer: lo,
        inner: lv,
      });
    const vec = e === width ? last.name : lv;
    const order = st.loops
      .map((l) => (l.name === last.name ? (e === width ? vec : lo) : l.name))
      .filter((n) => n !== vec);
    steps.push({ kind: "reorder", stage: st.name, loops: [...order, vec] });
    steps.push({ kind: "vectorize", stage: st.name, loop: vec });
    out.push({ name: `vectorize ${st.name}.${last.name} by ${width}`, steps });
  }

  // Cache blocking of the outermost reduction loop, moved outside the spatial tiles.
  const r0 = reductions[0];
  if (r0 && r0.annotation === "serial" && ext.get(r0.name)! > choice.kc) {
    const taken = new Set<string>();
    const [rc, ri] = [fresh(st, `${r0.name}c`, taken), fresh(st, `${r0.name}i`, taken)];
    const firstReduce = st.loops.findIndex((l) => l.reduce);
    const outerSpatial = st.loops.slice(0, firstReduce).map((l) => l.name);
    out.push({
      name: `block ${st.name}.${r0.name} by ${choice.kc}`,
      steps: [
        { kind: "split", stage: st.name, loop: r0.name, factor: choice.kc, outer: rc, inner: ri },
        { kind: "reorder", stage: st.name, loops: [rc, ...outerSpatial] },
      ],
    });
  }

  // Pack every operand read along the vector loop, at the outermost reduction block.
  const vectorLoop = st.loops.find((l) => l.annotation === "vector");
  const blockLoop = st.loops.find((l) => l.reduce);
  if (vectorLoop && blockLoop) {
    const steps: Transform[] = [];
    forEachRead(stage.body, (r) => {
      if (
        !st.copies.some((c) => c.tensor === r.tensor) &&
        !steps.some((s) => s.kind === "pack" && s.tensor === r.tensor)
      ) {
        steps.push({ kind: "pack", stage: st.name, tensor: r.tensor, at: blockLoop.name });
      }
    });
    if (steps.length > 0) out.push({ name: `pack operands of ${st.name}`, steps });
  }

  // One parallel loop: the outermost spatial loop.
  if (!st.loops.some((l) => l.annotation === "parallel") && spatial[0]) {
    out.push({
      name: `parallel ${st.name}.${spatial[0].name}`,
      steps: [{ kind: "parallel", stage: st.name, loop: spatial[0].name }],
    });
  }
  return out;
}

/** Inline every element-wise producer that can be inlined. */
export function inlineRecipe(schedule: Schedule): Recipe {
  const p = schedule.state.program;
  const steps: Transform[] = schedule.state.stages
    .filter(
      (st) =>
        st.placement.k === "root" &&
        !p.outputs.includes(st.name) &&
        stageOf(p, st.name).reduceAxes.length === 0,
    )
    .map((st) => ({ kind: "compute_inline", stage: st.name }));
  return { name: "inline element-wise producers", steps };
}
