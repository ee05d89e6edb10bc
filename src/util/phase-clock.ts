/**
 * Wall time split by what the process was doing, measured where it happens: the
 * measurement engine marks its builds and runs, the search its proposer calls. Builds run
 * in parallel with each other and with runs, so each instant goes to one phase only: the
 * first active one in PHASES order (a run, then a build, then a proposer call), else to
 * `other` (cost model, tree search, bookkeeping). The parts therefore add up to the total.
 */
export const PHASES = ["measuring", "building", "proposing"] as const;
export type Phase = (typeof PHASES)[number];

export interface WallSplit {
  readonly totalMs: number;
  readonly measuringMs: number;
  readonly buildingMs: number;
  readonly proposingMs: number;
  readonly otherMs: number;
}

export class PhaseClock {
  private readonly active: Record<Phase, number> = { measuring: 0, building: 0, proposing: 0 };
  private readonly spent: Record<Phase | "other", number> = {
    measuring: 0,
    building: 0,
    proposing: 0,
    other: 0,
  };
  private last = performance.now();

  /** Runs `work` as part of `phase`; phases may nest and overlap. */
  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    this.settle();
    this.active[phase]++;
    try {
      return await work();
    } finally {
      this.settle();
      this.active[phase]--;
    }
  }

  /** Time spent so far in each phase, since the clock was made. */
  split(): WallSplit {
    this.settle();
    const s = this.spent;
    return {
      totalMs: s.measuring + s.building + s.proposing + s.other,
      measuringMs: s.measuring,
      buildingMs: s.building,
      proposingMs: s.proposing,
      otherMs: s.other,
    };
  }

  /** Time spent in each phase since `before` (an earlier split of this clock). */
  since(before: WallSplit): WallSplit {
    const now = this.split();
    const parts = {
      measuringMs: now.measuringMs - before.measuringMs,
      buildingMs: now.buildingMs - before.buildingMs,
      proposingMs: now.proposingMs - before.proposingMs,
      otherMs: now.otherMs - before.otherMs,
    };
    return {
      totalMs: parts.measuringMs + parts.buildingMs + parts.proposingMs + parts.otherMs,
      ...parts,
    };
  }

  /** Gives the time since the last change to the phase that was current during it. */
  private settle(): void {
    const now = performance.now();
    const current = PHASES.find((p) => this.active[p] > 0) ?? "other";
    this.spent[current] += now - this.last;
    this.last = now;
  }
}
