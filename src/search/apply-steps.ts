/**
 * Applying a joint action's steps to a node's schedule with the documented fallbacks: a
 * step that does not parse (unreadable) or is refused is one error of the model and is
 * replaced by a random legal move; an empty action (or a failed call) is one error and
 * gets one random move.
 */
import type { Schedule } from "../schedule/schedule.ts";
import type { ProposedStep } from "./proposer.ts";

export interface AppliedSteps {
  readonly schedule: Schedule;
  readonly errors: number;
}

export function applySteps(
  start: Schedule,
  steps: readonly ProposedStep[],
  randomMove: (s: Schedule) => Schedule | undefined,
): AppliedSteps {
  if (steps.length === 0) return { schedule: randomMove(start) ?? start, errors: 1 };
  let schedule = start;
  let errors = 0;
  for (const step of steps) {
    const r = step.kind === "unreadable" ? undefined : schedule.tryApply(step);
    if (r?.ok) {
      schedule = r.schedule;
    } else {
      errors++;
      schedule = randomMove(schedule) ?? schedule;
    }
  }
  return { schedule, errors };
}
