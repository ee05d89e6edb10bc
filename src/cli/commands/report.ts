/** `colt report`: a run as one self-contained HTML file. */
import type { Command } from "commander";
import type { Db } from "../../db/database.ts";
import { getRun } from "../../db/records.ts";
import { reportData } from "../../report/data.ts";
import { renderReport } from "../../report/html.ts";
import { writeFileAt } from "../../util/paths.ts";
import { DB_OPTION, withDb } from "../db.ts";
import { getRunByRef } from "../run-ref.ts";
import { programOfRun } from "./export.ts";
import { printOut } from "../output.ts";

/** Renders the report of a recorded run to a file. */
export async function writeReport(db: Db, runId: string, file: string): Promise<void> {
  const run = getRun(db, runId);
  writeFileAt(file, await renderReport(reportData(db, runId, programOfRun(run))), "--out");
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write a run's HTML report: convergence, models, best schedule and its C")
    .argument(
      "<run>",
      "a run id (printed by 'colt tune', listed by 'colt runs') or its --out directory",
    )
    .option("--out <file>", "the HTML file (default: report-<run>.html)")
    .option(...DB_OPTION)
    .action(async (ref: string, opts: { out?: string; db?: string }) => {
      const file = await withDb(opts.db, async (db) => {
        const run = getRunByRef(db, ref);
        const to = opts.out ?? `report-${run.id}.html`;
        await writeReport(db, run.id, to);
        return to;
      });
      printOut(`${file}\n`);
    });
}
