/**
 * A schedule's sharing twin: the same steps with its parallel loops shared out the other
 * way, equal parts handed out dynamically and dynamic chunks made equal parts. Which one
 * runs faster on a shared virtual machine changes with the machine's phase (AMD EPYC Zen 5
 * VM, rmsnorm at paper size on two threads: dynamic chunks 12-15% faster in one session,
 * equal parts 15-20% faster in another), and the cost model cannot know the phase: its
 * ranking sends a whole tune down one of the two (a 64-trial rmsnorm tune measured only
 * dynamic chunks). The final round measures the best trial's twin beside the finalists.
 */
import { dynamicChunk } from "../schedule/enumerate.ts";
import { Schedule } from "../schedule/schedule.ts";
import { nominalExtents, stageState } from "../schedule/state.ts";
import type { Transform } from "../schedule/transform.ts";

/**
 * The twin of `schedule` on `threads` threads, or undefined where it has no parallel loop
 * to share the other way (one thread, no parallel step, loops too short for chunks) or
 * the twin is refused.
 */
export function sharingTwin(schedule: Schedule, threads: number): Schedule | undefined {
  if (threads < 2) return undefined;
  let twin = Schedule.initial(schedule.program);
  let changed = false;
  for (const step of schedule.trace) {
    const other = step.kind === "parallel" ? otherSharing(twin, step, threads) : step;
    changed ||= other !== step;
    const next = twin.tryApply(other);
    if (!next.ok) return undefined;
    twin = next.schedule;
  }
  return changed ? twin : undefined;
}

/** A parallel step shared the other way, or the step itself where its loop is too short. */
function otherSharing(
  before: Schedule,
  step: Transform & { kind: "parallel" },
  threads: number,
): Transform {
  if (step.chunk !== undefined) return { kind: "parallel", stage: step.stage, loop: step.loop };
  const st = stageState(before.state, step.stage);
  const extent = nominalExtents(before.state.program, st).get(step.loop);
  const chunk = extent === undefined ? undefined : dynamicChunk(extent, threads);
  return chunk === undefined ? step : { ...step, chunk };
}
