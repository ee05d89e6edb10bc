/**
 * Random search: random legal traces from the unscheduled program, measured a batch at a
 * time (builds of a batch run in parallel), until the session is done.
 */
import { Schedule } from "../../schedule/schedule.ts";
import { randomLegalTrace } from "../random-trace.ts";
import { NestMemo, type StrategyRun } from "./strategy.ts";

export interface RandomSearchOptions {
  /** Candidates measured per round; the machine has two cores. */
  readonly batchSize?: number;
  /** Trace lengths are drawn uniformly from 1..maxSteps. */
  readonly maxSteps?: number;
  /** Draws per batch that may hit already-seen traces before the search gives up. */
  readonly maxRetries?: number;
}

export const RANDOM_SEARCH_DEFAULTS: Required<RandomSearchOptions> = {
  batchSize: 2,
  maxSteps: 8,
  maxRetries: 64,
};

export async function randomSearch(
  run: StrategyRun,
  options: RandomSearchOptions = {},
): Promise<void> {
  const o = { ...RANDOM_SEARCH_DEFAULTS, ...options };
  const { session, random } = run;
  const start = Schedule.initial(session.options.program);
  const memo = new NestMemo(session);
  while (!session.done) {
    const want = Math.min(o.batchSize, session.trialsLeft);
    const batch: Schedule[] = [];
    const nests = new Set<string>();
    let misses = 0;
    while (batch.length < want && misses < o.maxRetries) {
      const s = randomLegalTrace(
        start,
        1 + random.int(o.maxSteps),
        random,
        run.session.moveOptions(),
      );
      if (s.trace.length === 0 || nests.has(memo.key(s)) || memo.measured(s)) {
        misses++;
        continue;
      }
      nests.add(memo.key(s));
      batch.push(s);
    }
    if (batch.length === 0) return;
    await memo.measure(
      batch.map((schedule) => ({ schedule, predictedMs: session.predictMs(schedule) })),
    );
  }
}
