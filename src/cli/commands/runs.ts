/** `colt runs`: the runs recorded in the tuning database, with their status and best. */
import type { Command } from "commander";
import { listRuns, type RunListing } from "../../db/run-list.ts";
import { getWorkload } from "../../workloads/registry.ts";
import { DB_OPTION, withDb } from "../db.ts";
import { formatMs } from "../../util/format.ts";
import { printOut } from "../output.ts";

interface RunsCliOptions {
  workload?: string;
  db?: string;
  json?: boolean;
}

const COLUMNS = ["id", "workload", "shape", "strategy", "status", "trials", "best", "started"];

export function registerRuns(program: Command): void {
  program
    .command("runs")
    .description("list the runs in the tuning database: status, trials, best time")
    .option("--workload <name>", "only runs of this workload")
    .option(...DB_OPTION)
    .option("--json", "print one JSON array")
    .action(async (opts: RunsCliOptions) => {
      if (opts.workload !== undefined) getWorkload(opts.workload);
      const runs = await withDb(opts.db, (db) => listRuns(db, opts.workload));
      if (opts.json) {
        printOut(JSON.stringify(runs.map(toJson)) + "\n");
        return;
      }
      if (runs.length === 0) {
        const of = opts.workload !== undefined ? ` of ${opts.workload}` : "";
        printOut(`no runs${of} in the tuning database yet\n`);
        return;
      }
      printOut(table([COLUMNS, ...runs.map(cells)]));
    });
}

function toJson(r: RunListing) {
  return {
    ...r,
    speedup: r.baselineMs !== null && r.bestMs !== null ? r.baselineMs / r.bestMs : null,
  };
}

function cells(r: RunListing): string[] {
  const shape = Object.entries(r.shape)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  const best =
    r.bestMs === null
      ? "-"
      : `${formatMs(r.bestMs)}${r.baselineMs !== null ? ` (${(r.baselineMs / r.bestMs).toFixed(2)}x)` : ""}`;
  return [
    r.id,
    r.workload,
    shape,
    `${r.strategy} seed ${r.seed}`,
    r.status,
    `${r.trials}/${r.trialBudget ?? "?"}${r.extraTrials > 0 ? ` +${r.extraTrials} twin` : ""}`,
    best,
    r.startedAt.replace("T", " ").slice(0, 19),
  ];
}

function table(rows: readonly string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map(
      (r) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd() + "\n",
    )
    .join("");
}
