/**
 * Which candidates a measurement round measures (docs/design.md): the most promising
 * by prediction, plus a small random share (ε-greedy) that corrects the cost model's near
 * misses. The random share draws among candidates predicted close to the best remaining
 * one, not among the many that a cheap proposer's stray moves made obviously slow.
 */
import type { Random } from "../util/random.ts";

/** The random share draws among candidates predicted at most this much slower than the best remaining one. */
export const RANDOM_SHARE_SPAN = 2;
/** A round that waits for promising candidates takes only those predicted at most this much slower than the run's best. */
export const PROMISING_FACTOR = 1.5;

export interface MeasureCandidate {
  readonly predictedMs: number;
  /** Breaks ties, so the choice is deterministic. */
  readonly id: number;
}

export function chooseToMeasure<T extends MeasureCandidate>(
  candidates: readonly T[],
  count: number,
  epsilon: number,
  random: Random,
): T[] {
  const pool = [...candidates].sort((a, b) => a.predictedMs - b.predictedMs || a.id - b.id);
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) {
    const beyond = pool.findIndex((c) => c.predictedMs > pool[0].predictedMs * RANDOM_SHARE_SPAN);
    const near = beyond < 0 ? pool.length : beyond;
    const idx = random.next() < epsilon ? random.int(near) : 0;
    chosen.push(pool.splice(idx, 1)[0]);
  }
  return chosen;
}

/** The candidates worth a trial now: predicted at most PROMISING_FACTOR slower than the run's best. */
export function promising<T extends MeasureCandidate>(
  candidates: readonly T[],
  bestMs: number,
): T[] {
  return candidates.filter((c) => c.predictedMs <= PROMISING_FACTOR * bestMs);
}
