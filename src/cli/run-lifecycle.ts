/**
 * How a recorded run ends: its status is set exactly once, whatever ends it — `done`,
 * `failed` (an error after the run was created) or `interrupted` (a signal), never left
 * `running` — and an interrupted run says how to resume it.
 */
import { printErr } from "./output.ts";
import type { Db } from "../db/database.ts";
import { candidatesOfRun, finishRun } from "../db/records.ts";
import type { RunStatus } from "../db/schema.ts";
import { MeasurementAbandonedError } from "../measure/errors.ts";
import { Interruption } from "./interrupt.ts";

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

/** What must be ended however a command ends: the run under way and the progress display. */
export interface Ending {
  lifecycle?: RunLifecycle;
  progress?: { stop(): void };
}

/**
 * Runs `body` with SIGINT/SIGTERM turned into a stop request (`stop` aborts); whatever
 * ends it, the run in `ending` is left done, failed or interrupted, never running. After
 * a signal the command exits 128 + its number, with one line per ended run, no trace.
 */
export async function guardRuns(
  ending: Ending,
  body: (stop: AbortSignal) => Promise<void>,
): Promise<void> {
  const say = (text: string) => printErr(text);
  const interruption = new Interruption((signal) => {
    ending.lifecycle?.interrupt(signal, say);
  });
  try {
    await body(interruption.stop);
  } catch (e) {
    ending.progress?.stop();
    if (interruption.signal && e instanceof MeasurementAbandonedError) {
      // Between runs (or after the last one) there is no run to mark: say so all the same.
      if (!ending.lifecycle?.interrupt(interruption.signal, say))
        say(`colt: ${interruption.signal}: stopped\n`);
      process.exitCode = interruption.exitCode;
      return;
    }
    ending.lifecycle?.finish("failed");
    throw e;
  } finally {
    interruption.dispose();
  }
}

/** The exact command line that resumes a run (with --db when the database was named so). */
export function resumeCommandOf(workload: string, runId: string, dbFile?: string): string {
  const db = dbFile !== undefined ? ` --db ${shellWord(dbFile)}` : "";
  return `colt tune ${workload} --resume ${runId}${db}`;
}

function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
