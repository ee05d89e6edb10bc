/** `colt workloads`: the workload library with weights, sizes, FLOP counts and memory footprints. */
import type { Command } from "commander";
import { flopCount, footprintBytes } from "../../ir/program.ts";
import { listWorkloads, SIZE_NAMES } from "../../workloads/registry.ts";
import { formatBytes, formatFlops } from "../../util/format.ts";
import { printOut } from "../output.ts";

export function registerWorkloads(program: Command): void {
  program
    .command("workloads")
    .description(
      "list the workloads with their shape parameters, FLOP counts and footprints at each size",
    )
    .option("--json", "print one JSON array")
    .action((opts: { json?: boolean }) => {
      const rows = listWorkloads().map((w) => ({
        name: w.name,
        kind: w.kind,
        description: w.description,
        ...(w.source ? { source: w.source } : {}),
        weights: w.build(w.sizes.small).weights,
        sizes: Object.fromEntries(
          SIZE_NAMES.map((s) => {
            const program = w.build(w.sizes[s]);
            return [
              s,
              {
                params: w.sizes[s],
                flops: flopCount(program),
                footprintBytes: footprintBytes(program),
              },
            ];
          }),
        ),
      }));
      if (opts.json) {
        printOut(JSON.stringify(rows, null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        printOut(`${r.name}  (${r.kind}) ${r.description}\n`);
        printOut(`    weights ${r.weights.join(", ") || "none"}\n`);
        for (const s of SIZE_NAMES) {
          const { params, flops, footprintBytes: bytes } = r.sizes[s];
          const shape = Object.entries(params)
            .map(([k, v]) => `${k}=${v}`)
            .join(",");
          printOut(`    ${s.padEnd(6)} ${shape}  ${formatFlops(flops)}, ${formatBytes(bytes)}\n`);
        }
      }
    });
}
