/**
 * How a command ends the run under way: signals become a stop request, and the run is
 * left done, failed or interrupted (src/tuning/run-lifecycle.ts), never running.
 */
import { printErr } from "./output.ts";
import { MeasurementAbandonedError } from "../measure/errors.ts";
import type { RunLifecycle } from "../tuning/run-lifecycle.ts";
import { Interruption } from "./interrupt.ts";

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
