/**
 * Builds and timed runs that share cores take turns. A compiler on a core a timed run uses
 * takes that core from one of the kernel's threads, and a parallel kernel then waits at
 * every barrier for it: a 2-thread deepseek-r1-moe candidate measured 61 ms during a tune
 * with builds beside it, 21 ms alone (Zen 5 VM, 2 cores). Builds run side by side with each
 * other; a run waits for the builds under way and holds new ones back until it is done.
 */
export class BuildRunGate {
  private builds = 0;
  private running = false;
  /** Runs wait here for the builds under way to finish. */
  private runWaiters: (() => void)[] = [];
  /** Builds wait here while a run is under way or waiting. */
  private buildWaiters: (() => void)[] = [];

  async build<T>(job: () => Promise<T>): Promise<T> {
    while (this.running || this.runWaiters.length > 0)
      await new Promise<void>((r) => this.buildWaiters.push(r));
    this.builds++;
    try {
      return await job();
    } finally {
      this.builds--;
      const run = this.builds === 0 ? this.runWaiters.shift() : undefined;
      if (run) {
        // Taken on the run's behalf now, so no build starts before it resumes.
        this.running = true;
        run();
      }
    }
  }

  /** Callers run one at a time (the engine's run queue): a second concurrent run is an error. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running || this.runWaiters.length > 0)
      throw new Error("BuildRunGate.run: runs must not overlap");
    if (this.builds > 0) await new Promise<void>((r) => this.runWaiters.push(r));
    else this.running = true;
    try {
      return await job();
    } finally {
      this.running = false;
      for (const wake of this.buildWaiters.splice(0)) wake();
    }
  }
}
