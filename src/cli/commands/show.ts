/** `colt show`: a workload as loop-nest pseudo-code (or C), optionally scheduled. */
import type { Command } from "commander";
import { generateC } from "../../codegen/generate.ts";
import { printLoopNest } from "../../ir/print.ts";
import { legalMoves } from "../../schedule/enumerate.ts";
import { printTransform } from "../../schedule/text.ts";
import {
  chosenTarget,
  loadProgram,
  loadSchedule,
  TARGET_OPTION,
  type WorkloadOptions,
} from "../options.ts";
import { printOut } from "../output.ts";

export function registerShow(program: Command): void {
  program
    .command("show")
    .description("print a workload as loop-nest pseudo-code, after an optional schedule")
    .argument("<workload>", "workload name (see 'colt workloads')")
    .option("--size <size>", "small, medium or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option("--schedule <file>", "schedule file: one transformation per line")
    .option("--c", "print the generated C (kernel and harness) instead")
    .option("--moves", "also list the legal next transformations")
    .option(...TARGET_OPTION)
    .action(
      (
        workload: string,
        opts: WorkloadOptions & {
          schedule?: string;
          c?: boolean;
          moves?: boolean;
          target?: string;
        },
      ) => {
        // The C is the same for every target (GNU vector types); the moves offer its widths.
        const target = chosenTarget(opts.target);
        const schedule = loadSchedule(loadProgram(workload, opts), opts.schedule);
        if (opts.c) {
          printOut(generateC(schedule.lower()).source);
          return;
        }
        printOut(printLoopNest(schedule.lower()));
        if (opts.moves) {
          printOut("\n# legal next transformations\n");
          for (const m of legalMoves(schedule, { target }))
            printOut(`${printTransform(m.transform)}\n`);
        }
      },
    );
}
