/** The `colt` command. */
import { Command, CommanderError } from "commander";
import { registerBench } from "./commands/bench.ts";
import { registerBest } from "./commands/best.ts";
import { registerCompare } from "./commands/compare.ts";
import { registerExport } from "./commands/export.ts";
import { registerImport } from "./commands/import.ts";
import { registerMeasure } from "./commands/measure.ts";
import { registerReport } from "./commands/report.ts";
import { registerRuns } from "./commands/runs.ts";
import { registerShow } from "./commands/show.ts";
import { registerTargets } from "./commands/targets.ts";
import { registerTune } from "./commands/tune.ts";
import { registerWorker } from "./commands/worker.ts";
import { registerWorkers } from "./commands/workers.ts";
import { registerWorkloads } from "./commands/workloads.ts";
import { reportError } from "./errors.ts";
import { endQuietlyOnClosedPipe } from "./output.ts";
import { printErr, printOut } from "./output.ts";

export function buildCli(): Command {
  const program = new Command("colt")
    .description("COLT: tune ML operators into fast CPU code with compiler transformations")
    .version("0.1.0")
    .showHelpAfterError()
    .configureOutput({ writeOut: printOut, writeErr: printErr })
    .exitOverride();
  registerWorkloads(program);
  registerTargets(program);
  registerShow(program);
  registerMeasure(program);
  registerTune(program);
  registerBest(program);
  registerExport(program);
  registerRuns(program);
  registerReport(program);
  registerBench(program);
  registerCompare(program);
  registerImport(program);
  registerWorker(program);
  registerWorkers(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe();
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    process.exitCode = reportError(e);
  }
}
