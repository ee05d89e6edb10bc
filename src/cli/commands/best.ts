/** `colt best`: the fastest verified schedule the tuning database knows for a workload. */
import type { Command } from "commander";
import type { Db } from "../../db/database.ts";
import { bestCandidate, findWorkload, type CandidateRow, type RunRow } from "../../db/records.ts";
import { programHash } from "../../ir/hash.ts";
import type { Program } from "../../ir/program.ts";
import { DB_OPTION, withDb } from "../db.ts";
import { UsageError } from "../errors.ts";
import { formatMs } from "../../util/format.ts";
import {
  loadProgram,
  chosenTarget,
  parsePositiveInt,
  TARGET_OPTION,
  type WorkloadOptions,
} from "../options.ts";
import { printOut } from "../output.ts";

interface BestCliOptions extends WorkloadOptions {
  target?: string;
  db?: string;
  threads?: number;
  json?: boolean;
}

export type BestKnown = CandidateRow & { run: RunRow };

/**
 * The best record for the program on a target; a UsageError naming the workload when
 * there is none (records of other targets do not count).
 */
export function bestKnown(
  db: Db,
  workload: string,
  program: Program,
  target: string,
  threads?: number,
): BestKnown {
  const workloadId = findWorkload(db, programHash(program));
  const best =
    workloadId === undefined ? undefined : bestCandidate(db, { workloadId, threads, target });
  if (!best) {
    const shape = Object.entries(program.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    throw new UsageError(
      `no verified schedule of ${workload} (${shape}) for ${target} in the tuning database yet (run 'colt tune ${workload}' first)`,
    );
  }
  return best;
}

export function registerBest(program: Command): void {
  program
    .command("best")
    .description("print the best known schedule of a workload from the tuning database")
    .argument("<workload>", "workload name (see 'colt workloads')")
    .option("--size <size>", "small, medium or paper", "small")
    .option("--shape <params>", "override shape parameters, e.g. M=1000,N=4095,K=333")
    .option("--threads <n>", "only runs on this many cores", parsePositiveInt("--threads"))
    .option(...DB_OPTION)
    .option(...TARGET_OPTION)
    .option("--json", "print one JSON object")
    .action(async (workload: string, opts: BestCliOptions) => {
      const prog = loadProgram(workload, opts);
      const target = chosenTarget(opts.target).name;
      await withDb(opts.db, (db) => {
        const b = bestKnown(db, workload, prog, target, opts.threads);
        const info = {
          workload,
          shape: prog.params,
          ms: b.ms,
          prepareMs: b.prepareMs,
          gflops: b.gflops,
          run: b.runId,
          trial: b.trial,
          model: b.model,
          strategy: b.run.strategy,
          threads: b.run.threads,
          target: b.run.target,
          measuredAt: b.measuredAt,
          trace: b.trace,
        };
        if (opts.json) {
          printOut(JSON.stringify(info) + "\n");
          return;
        }
        const shape = Object.entries(prog.params)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ");
        printOut(
          [
            `# ${workload} (${shape}): ${formatMs(b.ms ?? NaN)}, ${(b.gflops ?? 0).toFixed(1)} GFLOP/s on ${b.run.threads} core(s)${b.prepareMs !== null ? ` (+ prepare ${formatMs(b.prepareMs)} once)` : ""}`,
            `# run ${b.runId} (${b.run.strategy}), ${b.trace.trim() === "" ? "the unscheduled program" : `trial ${b.trial ?? "-"}`}${b.model ? ` by ${b.model}` : ""}, measured ${b.measuredAt}`,
            b.trace.trimEnd(),
            "",
          ].join("\n"),
        );
      });
    });
}
