/**
 * An LLM's transformations, as written, read into typed steps: each line of the schedule
 * language that parses is a transformation; one that does not is an unreadable step,
 * which the search counts as this model's error and replaces by a random legal move.
 */
import { ScheduleError, ScheduleSyntaxError } from "../../schedule/errors.ts";
import { parseTransform } from "../../schedule/text.ts";
import type { ProposedStep } from "../../search/proposer.ts";

export function readStep(text: string): ProposedStep {
  try {
    return parseTransform(text);
  } catch (e) {
    if (!(e instanceof ScheduleSyntaxError || e instanceof ScheduleError)) throw e;
    return { kind: "unreadable", text, reason: e.message };
  }
}
