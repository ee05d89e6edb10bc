/** Random legal moves and traces: the random baseline, mutations, rollouts, fallbacks. */
import { candidateMoves, type LegalMove, type MoveOptions } from "../schedule/enumerate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Transform, TransformKind } from "../schedule/transform.ts";
import type { Random } from "../util/random.ts";

/**
 * One random legal move from `s`, or undefined when there is none: a kind uniformly
 * among the kinds with a legal move (so rare kinds such as vectorize are as likely as the
 * many splits), then a legal move of that kind uniformly. Candidates are validated
 * lazily, in random order, instead of lowering every one of them.
 */
export function randomLegalMove(
  s: Schedule,
  random: Random,
  opts: MoveOptions = {},
): LegalMove | undefined {
  const byKind = new Map<TransformKind, Transform[]>();
  for (const t of candidateMoves(s, opts)) {
    const list = byKind.get(t.kind);
    if (list) list.push(t);
    else byKind.set(t.kind, [t]);
  }
  const kinds = [...byKind.keys()];
  while (kinds.length > 0) {
    const kind = takeRandom(kinds, random);
    // The first legal one in a random order is uniform among the legal ones.
    const list = byKind.get(kind)!;
    while (list.length > 0) {
      const t = takeRandom(list, random);
      const r = s.tryApply(t);
      if (r.ok) return { transform: t, schedule: r.schedule };
    }
  }
  return undefined;
}

/** Applies up to `steps` random legal moves from `start`. */
export function randomLegalTrace(
  start: Schedule,
  steps: number,
  random: Random,
  opts: MoveOptions = {},
): Schedule {
  let s = start;
  for (let i = 0; i < steps; i++) {
    const move = randomLegalMove(s, random, opts);
    if (!move) break;
    s = move.schedule;
  }
  return s;
}

/** Removes and returns a uniformly chosen element. */
export function takeRandom<T>(items: T[], random: Random): T {
  return items.splice(random.int(items.length), 1)[0];
}
