/** `colt workloads`: the workload library with weights, sizes and FLOP counts. */
import type { Command } from "commander";
import { flopCount } from "../../ir/program.ts";
import { listWorkloads, SIZE_NAMES } from "../../workloads/registry.ts";
import { formatFlops } from "../format.ts";

export function registerWorkloads(program: Command): void {
  program
    .command("workloads")
    .description("list the workloads with their shape parameters and FLOP counts at each size")
    .option("--json", "print one JSON array")
    .action((opts: { json?: boolean }) => {
      const rows = listWorkloads().map((w) => ({
        name: w.name,
        kind: w.kind,
        description: w.description,
        ...(w.source ? { source: w.source } : {}),
        weights: w.build(w.sizes.small).weights,
        sizes: Object.fromEntries(
          SIZE_NAMES.map((s) => [s, { params: w.sizes[s], flops: flopCount(w.build(w.sizes[s])) }]),
        ),
      }));
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        process.stdout.write(`${r.name}  (${r.kind}) ${r.description}\n`);
        process.stdout.write(`    weights ${r.weights.join(", ") || "none"}\n`);
        for (const s of SIZE_NAMES) {
          const { params, flops } = r.sizes[s];
          const shape = Object.entries(params)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
          process.stdout.write(`    ${s.padEnd(6)} ${shape}  ${formatFlops(flops)}\n`);
        }
      }
    });
}
