/**
 * Shares a model's trial budget across its distinct tasks, in the spirit of Ansor's
 * gradient task scheduler: a warm-up gives every task a few trials, then each round goes
 * to the task whose tuning is expected to shorten the model's time most. That expected
 * gain is the task's weight in the model's time (how often it occurs × its best time so
 * far) times its remaining room: an optimistic part (how far the best time is from the
 * task's roofline bound) and a backward-looking part (how much its last round improved
 * it), averaged as Ansor averages its forward and backward gradients.
 */

/** What the scheduler knows of one distinct task after the rounds so far. */
export interface TaskProgress {
  /** How many tasks of the model are this one (identical tasks are tuned once). */
  readonly occurrences: number;
  /** Trials given to the task so far. */
  readonly trials: number;
  /** Best verified time so far, or undefined before the task's first round. */
  readonly bestMs: number | undefined;
  /** The best time before the task's last round (undefined before the second round). */
  readonly previousBestMs: number | undefined;
  /** The task's roofline bound: no schedule is expected to beat it. */
  readonly boundMs: number;
}

export interface SchedulerSettings {
  /** Trials each task gets before any task gets more. */
  readonly warmupTrials: number;
  /** Trials of one round after the warm-up. */
  readonly roundTrials: number;
  /** Weight of the last round's improvement against the room to the roofline bound. */
  readonly backwardWeight: number;
}

export const DEFAULT_SCHEDULER: SchedulerSettings = {
  warmupTrials: 2,
  roundTrials: 4,
  backwardWeight: 0.5,
};

export interface Round {
  readonly task: number;
  readonly trials: number;
}

/** The task's expected gain in model time per round: its weight times its remaining room. */
export function expectedGain(t: TaskProgress, backwardWeight: number): number {
  if (t.bestMs === undefined) return Infinity;
  const toBound = Math.max(0, 1 - t.boundMs / t.bestMs);
  const lastRound =
    t.previousBestMs !== undefined ? Math.max(0, 1 - t.bestMs / t.previousBestMs) : toBound;
  const room = backwardWeight * lastRound + (1 - backwardWeight) * toBound;
  return t.occurrences * t.bestMs * room;
}

/**
 * The next round: the first task short of its warm-up trials, else the task of largest
 * expected gain (the earlier task on a tie); undefined when the budget is spent or no
 * task has room left.
 */
export function nextRound(
  tasks: readonly TaskProgress[],
  remaining: number,
  settings: SchedulerSettings = DEFAULT_SCHEDULER,
): Round | undefined {
  if (remaining <= 0 || tasks.length === 0) return undefined;
  const cold = tasks.findIndex((t) => t.trials < settings.warmupTrials);
  if (cold >= 0)
    return {
      task: cold,
      trials: Math.min(settings.warmupTrials - tasks[cold].trials, remaining),
    };
  let best = -1;
  let bestGain = 0;
  tasks.forEach((t, i) => {
    const gain = expectedGain(t, settings.backwardWeight);
    if (gain > bestGain) [best, bestGain] = [i, gain];
  });
  if (best < 0) return undefined;
  return { task: best, trials: Math.min(settings.roundTrials, remaining) };
}
