/** `colt import`: an ONNX model as a table of tasks, each a program the other commands take. */
import type { Command } from "commander";
import { importModel } from "../../onnx/import/import-model.ts";
import { UnsupportedModelError } from "../../onnx/import/errors.ts";
import { taskTable, type TaskRow } from "../../onnx/import/task-table.ts";
import { formatFlops, percent } from "../../util/format.ts";
import { parseModelDims } from "../options.ts";
import { printOut } from "../output.ts";

interface ImportOptions {
  dim?: string[];
  json?: boolean;
}

const shapeText = (s: readonly number[]) => `[${s.join(",")}]`;

export function registerImport(program: Command): void {
  program
    .command("import")
    .description(
      "partition an ONNX model into tasks that 'colt show|measure|tune' take as model.onnx#task",
    )
    .argument("<model>", "an ONNX file (opset 13-20, float32)")
    .option("--dim <NAME=VALUE...>", "fix a symbolic dimension, e.g. --dim batch=1 --dim seq=128")
    .option("--json", "print one JSON object: tasks and unsupported nodes")
    .action((file: string, opts: ImportOptions) => {
      const dims = parseModelDims(opts.dim);
      if (!opts.json) {
        printTable(file, taskTable(importModel(file, dims)));
        return;
      }
      try {
        const tasks = taskTable(importModel(file, dims));
        printOut(JSON.stringify({ model: file, tasks, unsupported: [] }, null, 2) + "\n");
      } catch (e) {
        if (e instanceof UnsupportedModelError) {
          printOut(
            JSON.stringify({ model: file, tasks: [], unsupported: e.refusals }, null, 2) + "\n",
          );
        }
        throw e;
      }
    });
}

function printTable(file: string, rows: readonly TaskRow[]): void {
  const total = rows.reduce((n, r) => n + r.flops, 0);
  const distinct = rows.filter((r) => !r.sameAs).length;
  printOut(`${file}: ${rows.length} tasks (${distinct} to tune), ${formatFlops(total)}\n`);
  const lines = rows.map((r) => [
    r.name,
    r.kind,
    `${r.nodes.length} (${[...new Set(r.ops)].join(" ")})`,
    `${r.inputs.map((i) => shapeText(i.shape)).join(" ")} -> ${r.outputs.map((o) => shapeText(o.shape)).join(" ")}`,
    formatFlops(r.flops),
    percent(r.share),
    r.sameAs ? `same as ${r.sameAs}` : "",
  ]);
  const header = ["task", "kind", "nodes", "shapes (in -> out)", "FLOPs", "share", ""];
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  for (const l of [header, ...lines]) {
    printOut(
      l
        .map((cell, c) => cell.padEnd(widths[c]))
        .join("  ")
        .trimEnd() + "\n",
    );
  }
  const heaviest = [...rows].sort((a, b) => b.flops - a.flops)[0];
  if (heaviest)
    printOut(
      `tune the heaviest task: colt tune ${file}#${heaviest.name}\ntune every task and build the model's C library: colt tune ${file}\n`,
    );
}
