/**
 * How a recorded run ends: its status is set exactly once, whatever ends it — `done`,
 * `failed` (an error after the run was created) or `interrupted` (a signal), never left
 * `running` — and an interrupted run says how to resume it.
 */
import type { Db } from "../db/database.ts";
import { candidatesOfRun, finishRun } from "../db/records.ts";
import type { RunStatus } from "../db/schema.ts";

export class RunLifecycle {
  private ended = false;

  constructor(
    private readonly db: Db,
    readonly runId: string,
    /** The command that continues the run, e.g. `colt tune matmul --resume <id>`, if any. */
    readonly resumeCommand?: string,
  ) {}

  /** Records the run's end; later calls change nothing (the first end is the true one). */
  finish(status: Exclude<RunStatus, "running">, summary?: object): void {
    if (this.ended) return;
    this.ended = true;
    finishRun(this.db, this.runId, status, summary);
  }

  /**
   * Marks the run interrupted and tells the user what was kept and how to go on; false
   * (and nothing written) when the run had already ended.
   */
  interrupt(signal: string, write: (text: string) => void): boolean {
    if (this.ended) return false;
    this.finish("interrupted");
    const kept = candidatesOfRun(this.db, this.runId).length;
    write(
      `colt: ${signal}: run ${this.runId} interrupted; ${kept} measurement${kept === 1 ? "" : "s"} kept\n`,
    );
    if (this.resumeCommand) write(`colt: to continue it: ${this.resumeCommand}\n`);
    return true;
  }
}
