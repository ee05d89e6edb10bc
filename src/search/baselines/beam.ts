/**
 * Greedy beam search in the style of tinygrad's BEAM: from the unscheduled program, each
 * step takes the single-transformation successors of every schedule in the beam (capped
 * per parent: the cost model's best predictions plus a few random ones), measures the
 * most promising by prediction, and keeps the best verified measured schedules as the
 * next beam.
 */
import { legalMoves } from "../../schedule/enumerate.ts";
import { Schedule } from "../../schedule/schedule.ts";
import { takeRandom } from "../random-trace.ts";
import { NestMemo, verifiedMs, type StrategyRun } from "./strategy.ts";

export interface BeamOptions {
  /** Schedules kept per step. */
  readonly width?: number;
  /** Successors considered per parent. */
  readonly successorsPerParent?: number;
  /** Of those, how many are drawn at random instead of by prediction. */
  readonly randomPerParent?: number;
  /** Candidates measured per step; default twice the width. */
  readonly measurePerStep?: number;
}

export const BEAM_DEFAULTS = {
  width: 4,
  successorsPerParent: 24,
  randomPerParent: 4,
} as const;

interface BeamEntry {
  readonly schedule: Schedule;
  readonly ms: number;
}

interface Candidate {
  readonly schedule: Schedule;
  readonly predictedMs: number;
}

export async function beamSearch(run: StrategyRun, options: BeamOptions = {}): Promise<void> {
  const width = options.width ?? BEAM_DEFAULTS.width;
  const cap = options.successorsPerParent ?? BEAM_DEFAULTS.successorsPerParent;
  const nRandom = Math.min(cap, options.randomPerParent ?? BEAM_DEFAULTS.randomPerParent);
  const perStep = options.measurePerStep ?? 2 * width;
  const { session, random } = run;
  const start = Schedule.initial(session.options.program);
  const memo = new NestMemo(session);
  // The unscheduled program stands in the first beam at its known baseline time, with the
  // verified schedules from the tuning database.
  let beam: BeamEntry[] = [start, ...(run.known ?? [])]
    .map((schedule) => ({ schedule, ms: memo.outcome(schedule) }))
    .filter((e): e is BeamEntry => e.ms !== undefined && Number.isFinite(e.ms))
    .sort((a, b) => a.ms - b.ms)
    .slice(0, width);

  while (!session.done) {
    const seen = new Set<string>();
    const candidates: Candidate[] = [];
    for (const parent of beam) {
      const successors: Candidate[] = [];
      for (const { schedule } of legalMoves(parent.schedule, session.moveOptions())) {
        const key = memo.key(schedule);
        if (seen.has(key) || memo.measured(schedule)) continue;
        seen.add(key);
        successors.push({ schedule, predictedMs: session.predictMs(schedule) });
      }
      successors.sort((a, b) => a.predictedMs - b.predictedMs);
      const chosen = successors.splice(0, Math.max(0, cap - nRandom));
      while (chosen.length < cap && successors.length > 0) {
        chosen.push(takeRandom(successors, random));
      }
      candidates.push(...chosen);
    }
    if (candidates.length === 0) return;

    candidates.sort((a, b) => a.predictedMs - b.predictedMs);
    const picks = candidates.slice(0, Math.min(perStep, session.trialsLeft));
    const results = await memo.measure(picks);
    const measured: BeamEntry[] = [];
    picks.forEach((c, i) => {
      const ms = verifiedMs(results[i]);
      if (ms !== undefined) measured.push({ schedule: c.schedule, ms });
    });
    beam = [...beam, ...measured].sort((a, b) => a.ms - b.ms).slice(0, width);
  }
}
