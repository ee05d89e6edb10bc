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

export function randomTrace(program: Program, seed: number, steps: number): RandomTrace {
  const rng = new Random(seed);
  const random = () => rng.next();
  let schedule = Schedule.initial(program);
  const refusals: ScheduleError[] = [];
  for (let i = 0; i < steps; i++) {
    if (random() < 0.25) {
      schedule = tryVectorizeRecipe(schedule, random) ?? schedule;
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
