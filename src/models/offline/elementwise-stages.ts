/**
 * The element-wise stages between a layer's heavy ones (the MLP's and the MoE's SiLU
 * product, the MoE's router sigmoid and score scaling), all in one proposal: each
 * vectorized along its last loop and, on several threads, shared out along its first loop
 * that has work for every thread. Each of them alone is a percent or two of the layer,
 * less than a link of a chain must gain (recipe-chain.ts), so searches left them scalar
 * (a library `expf` per element) and serial. On two threads that costs more than on one:
 * the serial stage reads what both cores wrote. deepseek-r1-moe at paper size, the tuned
 * two-thread schedule's harness with a timer per stage (AMD EPYC Zen 5 VM): `act` 0.84 ms
 * per call as tuned, 0.06 ms vectorized and shared; the scaling by the score 0.26 -> 0.15 ms.
 */
import type { Schedule } from "../../schedule/schedule.ts";
import { loopExtents, stageDefinition, type StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import { vectorizeInner, type AppliedRecipe, type TileChoice } from "./recipes.ts";

export function elementwiseStages(
  schedule: Schedule,
  c: TileChoice,
  threads: number,
): AppliedRecipe | undefined {
  const p = schedule.state.program;
  let current = schedule;
  const steps: Transform[] = [];
  const names: string[] = [];
  for (const { name } of schedule.state.stages) {
    const stage = stageDefinition(p, name);
    const st = stateOf(current, name);
    if (st.placement.k !== "root" || stage.reduceAxes.length > 0) continue;
    const vectorized = vectorizeInner(current, st, c);
    if (vectorized) {
      current = vectorized.schedule;
      steps.push(...vectorized.steps);
    }
    const share = threads > 1 ? shareOut(current, stateOf(current, name), threads) : undefined;
    const shared = share ? current.tryApply(share) : undefined;
    if (share && shared?.ok) {
      current = shared.schedule;
      steps.push(share);
    }
    if (vectorized || shared?.ok) names.push(name);
  }
  if (steps.length === 0) return undefined;
  const how = threads > 1 ? "vectorize and share out" : "vectorize";
  return { name: `${how} the element-wise ${names.join(", ")}`, schedule: current, steps };
}

function stateOf(schedule: Schedule, name: string): StageState {
  return schedule.state.stages.find((s) => s.name === name)!;
}

/**
 * `parallel` on the outermost loop of more than one iteration, when it has at least two per
 * thread (a parallel loop inside a serial one would start its threads once per iteration).
 */
function shareOut(schedule: Schedule, st: StageState, threads: number): Transform | undefined {
  if (st.loops.some((l) => l.annotation === "parallel")) return undefined;
  const stage = stageDefinition(schedule.state.program, st.name);
  const extents = loopExtents(st, new Map(stage.axes.map((a) => [a.name, a.extent])));
  const outer = st.loops.find((l) => (extents.get(l.name) ?? 1) > 1);
  if (!outer || outer.reduce || outer.annotation !== "serial") return undefined;
  if (extents.get(outer.name)! < 2 * threads) return undefined;
  return { kind: "parallel", stage: st.name, loop: outer.name };
}
