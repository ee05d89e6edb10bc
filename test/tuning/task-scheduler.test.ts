/** The task scheduler's allocation, as a pure function of what the rounds so far found. */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_SCHEDULER,
  expectedGain,
  nextRound,
  type TaskProgress,
} from "../../src/tuning/task-scheduler.ts";

const task = (p: Partial<TaskProgress>): TaskProgress => ({
  occurrences: 1,
  trials: 2,
  bestMs: 1,
  previousBestMs: undefined,
  boundMs: 0.1,
  ...p,
});

describe("the task scheduler", () => {
  it("warms every task up first, in order, before any task gets a second round", () => {
    const tasks = [
      task({ bestMs: 100 }),
      task({ trials: 0, bestMs: undefined }),
      task({ trials: 1 }),
    ];
    expect(nextRound(tasks, 50)).toEqual({ task: 1, trials: DEFAULT_SCHEDULER.warmupTrials });
    expect(nextRound([tasks[0], tasks[2]], 50)).toEqual({ task: 1, trials: 1 });
  });

  it("then gives the round to the largest expected gain: occurrences × best time × room", () => {
    const once = task({ bestMs: 3 });
    const fourTimes = task({ bestMs: 1, occurrences: 4 });
    expect(nextRound([once, fourTimes], 50)).toEqual({
      task: 1,
      trials: DEFAULT_SCHEDULER.roundTrials,
    });
    expect(expectedGain(fourTimes, 0.5)).toBeGreaterThan(expectedGain(once, 0.5));
  });

  it("gives nothing to a task at its roofline bound that stopped improving", () => {
    const atBound = task({ bestMs: 0.1, previousBestMs: 0.1, boundMs: 0.1, occurrences: 9 });
    const small = task({ bestMs: 0.2, boundMs: 0.01 });
    expect(expectedGain(atBound, 0.5)).toBe(0);
    expect(nextRound([atBound, small], 50)?.task).toBe(1);
    expect(nextRound([atBound], 50)).toBeUndefined();
  });

  it("prefers the task whose last round improved it, at equal weight and bound", () => {
    const stuck = task({ bestMs: 1, previousBestMs: 1 });
    const improving = task({ bestMs: 1, previousBestMs: 2 });
    expect(nextRound([stuck, improving], 50)?.task).toBe(1);
  });

  it("never hands out more trials than remain, and stops when none do", () => {
    expect(nextRound([task({})], 3)).toEqual({ task: 0, trials: 3 });
    expect(nextRound([task({ trials: 0, bestMs: undefined })], 1)).toEqual({ task: 0, trials: 1 });
    expect(nextRound([task({})], 0)).toBeUndefined();
  });
});
