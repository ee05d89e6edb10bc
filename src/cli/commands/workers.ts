/** `colt workers`: the measurement workers of a queue and its depths. */
import type { Command } from "commander";
import { parseQueueUrl } from "../../distributed/connection.ts";
import type { Fleet } from "../../distributed/fleet.ts";
import { isLive } from "../../distributed/registry.ts";
import { printOut } from "../output.ts";

export function registerWorkers(program: Command): void {
  program
    .command("workers")
    .description(
      "list the workers of a queue (name, machine key, cores, jobs done, last seen) and the queue depths",
    )
    .requiredOption("--queue <url>", "the Redis of the workers: redis://[:PASSWORD@]HOST:PORT")
    .option("--json", "print one JSON object")
    .action(async (opts: { queue: string; json?: boolean }) => {
      // BullMQ loads only for this command, not at every colt start.
      const { readFleet } = await import("../../distributed/fleet.ts");
      const fleet = await readFleet(parseQueueUrl(opts.queue));
      printOut(opts.json ? JSON.stringify(fleet) + "\n" : render(fleet, Date.now()));
    });
}

function render(f: Fleet, now: number): string {
  const lines = [
    "worker                   machine key       cores     jobs  last seen",
    ...f.workers.map(
      (w) =>
        `${w.name.padEnd(24)} ${w.machineKey.padEnd(17)} ${w.cores.padEnd(8)} ${String(w.jobsDone).padStart(5)}  ${((now - w.lastSeen) / 1000).toFixed(0)} s ago${isLive(w, now) ? "" : " (gone)"}`,
    ),
    "",
    "queue (machine key)   waiting  active  completed  failed",
    ...f.queues.map(
      (q) =>
        `${q.machineKey.padEnd(21)} ${String(q.waiting).padStart(7)} ${String(q.active).padStart(7)} ${String(q.completed).padStart(10)} ${String(q.failed).padStart(7)}`,
    ),
  ];
  return lines.join("\n") + "\n";
}
