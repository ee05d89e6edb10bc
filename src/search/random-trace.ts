/** Random legal traces: the random baseline, and rollouts. */
import { legalMoves, type MoveOptions } from "../schedule/enumerate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Random } from "./random.ts";

/**
 * Applies up to `steps` random legal moves from `start`; kinds are drawn uniformly first,
 * so rare kinds (vectorize, cache_write) are as likely as the many splits.
 */
export function randomLegalTrace(
  start: Schedule,
  steps: number,
  random: Random,
  opts: MoveOptions = {},
): Schedule {
  let s = start;
  for (let i = 0; i < steps; i++) {
    const moves = legalMoves(s, opts);
    if (moves.length === 0) break;
    const kinds = [...new Set(moves.map((m) => m.transform.kind))];
    const kind = random.pick(kinds);
    s = random.pick(moves.filter((m) => m.transform.kind === kind)).schedule;
  }
  return s;
}
