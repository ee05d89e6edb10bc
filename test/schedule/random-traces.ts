/**
 * Random transformation sequences for property tests: mostly legal moves, plus some
 * arbitrary candidates that the schedule may refuse.
 */
import { candidateMoves, legalMoves } from "../../src/schedule/enumerate.ts";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import type { Program } from "../../src/ir/program.ts";
import type { Transform } from "../../src/schedule/transform.ts";
import { Random } from "../../src/util/random.ts";

export interface RandomTrace {
  readonly schedule: Schedule;
  readonly refusals: ScheduleError[];
}

export function randomTrace(from: Program | Schedule, seed: number, steps: number): RandomTrace {
  const rng = new Random(seed);
  const random = () => rng.next();
  let schedule = from instanceof Schedule ? from : Schedule.initial(from);
  const refusals: ScheduleError[] = [];
  for (let i = 0; i < steps; i++) {
    if (random() < 0.25) {
      const recipes = [tryVectorizeRecipe, tryVectorReductionRecipe, tryFuseProducersRecipe];
      const recipe = recipes[Math.floor(random() * recipes.length)];
      schedule = recipe(schedule, random) ?? schedule;
    } else if (random() < 0.3) {
      const candidates = candidateMoves(schedule);
      if (candidates.length === 0) break;
      const r = schedule.tryApply(candidates[Math.floor(random() * candidates.length)]);
      if (r.ok) schedule = r.schedule;
      else refusals.push(r.error);
    } else {
      // Pick a kind first, then a move of that kind, so rare kinds (vectorize) get covered.
      const moves = legalMoves(schedule);
      if (moves.length === 0) break;
      const kinds = [...new Set(moves.map((m) => m.transform.kind))];
      const kind = kinds[Math.floor(random() * kinds.length)];
      const ofKind = moves.filter((m) => m.transform.kind === kind);
      schedule = ofKind[Math.floor(random() * ofKind.length)].schedule;
    }
  }
  return { schedule, refusals };
}

/** split a spatial loop by a vector width, move the inner part innermost, vectorize it. */
function tryVectorizeRecipe(schedule: Schedule, random: () => number): Schedule | undefined {
  const stages = schedule.state.stages.filter((st) => st.placement.k !== "inline");
  const st = stages[Math.floor(random() * stages.length)];
  const spatial = st.loops.filter((l) => !l.reduce && l.annotation === "serial");
  if (spatial.length === 0) return undefined;
  const loop = spatial[Math.floor(random() * spatial.length)];
  const width = [4, 8, 16][Math.floor(random() * 3)];
  const inner = `${loop.name}v${schedule.trace.length}`;
  const outer = `${loop.name}u${schedule.trace.length}`;
  const steps: Transform[] = [
    { kind: "split", stage: st.name, loop: loop.name, factor: width, outer, inner },
  ];
  steps.push({
    kind: "reorder",
    stage: st.name,
    loops: [
      ...st.loops.map((l) => (l.name === loop.name ? outer : l.name)).filter((n) => n !== outer),
      outer,
      inner,
    ].filter((n, i, all) => all.indexOf(n) === i),
  });
  steps.push({ kind: "vectorize", stage: st.name, loop: inner });
  let s = schedule;
  for (const t of steps) {
    const r = s.tryApply(t);
    if (r.ok) s = r.schedule;
    else if (t.kind !== "reorder") return undefined;
  }
  return s;
}

/**
 * Vectorize the innermost reduction loop of a stage into a vector accumulator: split it by
 * a vector width (and sometimes once more, unrolled, for several accumulators), cache_write
 * just outside the reduction loops, vectorize the lanes.
 */
function tryVectorReductionRecipe(schedule: Schedule, random: () => number): Schedule | undefined {
  const stages = schedule.state.stages.filter(
    (st) => st.placement.k !== "inline" && st.loops.at(-1)?.reduce,
  );
  if (stages.length === 0) return undefined;
  const st = stages[Math.floor(random() * stages.length)];
  const loop = st.loops.at(-1)!;
  const firstReduce = st.loops.findIndex((l) => l.reduce);
  const width = [4, 8, 16][Math.floor(random() * 3)];
  const tag = schedule.trace.length;
  const [outer, lanes] = [`${loop.name}u${tag}`, `${loop.name}v${tag}`];
  const steps: Transform[] = [
    { kind: "split", stage: st.name, loop: loop.name, factor: width, outer, inner: lanes },
  ];
  if (random() < 0.5) {
    const [blocks, accumulators] = [`${loop.name}b${tag}`, `${loop.name}a${tag}`];
    const factor = 2 + Math.floor(random() * 3);
    steps.push(
      { kind: "split", stage: st.name, loop: outer, factor, outer: blocks, inner: accumulators },
      { kind: "unroll", stage: st.name, loop: accumulators },
    );
  }
  if (firstReduce > 0 && !st.cacheWriteAt)
    steps.push({ kind: "cache_write", stage: st.name, at: st.loops[firstReduce - 1].name });
  steps.push({ kind: "vectorize", stage: st.name, loop: lanes });
  let s = schedule;
  for (const t of steps) {
    const r = s.tryApply(t);
    if (!r.ok) return undefined;
    s = r.schedule;
  }
  return s;
}

/**
 * compute_at of every producer of a stage at one of its loops, last producer first, so a
 * producer read by several of them (softmax's exps) follows its other readers inside.
 */
function tryFuseProducersRecipe(schedule: Schedule, random: () => number): Schedule | undefined {
  const program = schedule.state.program;
  const stages = schedule.state.stages.filter((st) => st.placement.k !== "inline");
  const consumer = stages[Math.floor(random() * stages.length)];
  const loop = consumer.loops[Math.floor(random() * consumer.loops.length)];
  let s = schedule;
  for (const producer of [...program.stages].reverse()) {
    const r = s.tryApply({
      kind: "compute_at",
      stage: producer.name,
      consumer: consumer.name,
      at: loop.name,
    });
    if (r.ok) s = r.schedule;
  }
  return s === schedule ? undefined : s;
}
