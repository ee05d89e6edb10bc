/**
 * `colt compare model.onnx`: the model's C library, built from every task's best known
 * schedule (the unscheduled program for a task never tuned), against ONNX Runtime on the
 * whole model: same seeded inputs, cores and threads; outputs checked, medians timed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrt } from "../../compare/ort-load.ts";
import { buildLibrary, checkLibrary } from "../../library/check-library.ts";
import { writeLibrary } from "../../library/write-library.ts";
import { ensureCacheDir } from "../../measure/cache-dir.ts";
import { detectCompiler } from "../../measure/compiler.ts";
import { MeasurementEngine } from "../../measure/engine.ts";
import { importModel } from "../../onnx/import/import-model.ts";
import { formatMs } from "../../util/format.ts";
import { parseShapeOverrides } from "../../workloads/registry.ts";
import { bestKnownOrInitial } from "../compare-schedule.ts";
import { withDb } from "../db.ts";
import { UsageError } from "../errors.ts";
import { printOut } from "../output.ts";

export interface CompareModelOptions {
  readonly shape?: string;
  readonly schedule?: string;
  readonly run?: string;
  readonly threads?: number;
  readonly seed: number;
  readonly minMs: number;
  readonly db?: string;
  readonly json?: boolean;
}

export async function compareModel(file: string, opts: CompareModelOptions): Promise<void> {
  if (opts.schedule || opts.run)
    throw new UsageError(
      "--schedule and --run name one task's schedule; a whole model uses every task's best known (compare one task as model.onnx#task)",
    );
  await loadOrt();
  const model = importModel(
    file,
    parseShapeOverrides(opts.shape ?? "", "symbolic dimensions of the model"),
  );
  const threads = opts.threads ?? 1;
  // The library is built for this machine (its README line): the native target's schedules.
  const compiler = detectCompiler();
  const sources = await withDb(opts.db, (db) =>
    model.tasks
      .filter((t) => t.sameAs === undefined)
      .map((t) => ({
        task: t.name,
        chosen: bestKnownOrInitial(db, t.program, threads, compiler.target.name),
      })),
  );
  const traces = new Map(sources.map((s) => [s.task, s.chosen.schedule.text()]));
  const cacheDir = ensureCacheDir();
  const dir = mkdtempSync(join(tmpdir(), "colt-model-"));
  try {
    const plan = writeLibrary(dir, model, traces);
    buildLibrary(dir, file, compiler);
    const cpus = new MeasurementEngine({ compiler, cacheDir, threads }).pinnedCpus();
    const e = await checkLibrary(dir, file, plan, {
      compiler,
      threads,
      cpus,
      seed: opts.seed,
      minMs: opts.minMs,
    });
    const tuned = sources.filter((s) => s.chosen.runId !== null).length;
    if (opts.json) {
      printOut(
        JSON.stringify({
          model: file,
          threads,
          cpus,
          ...e,
          ratio: e.ortMs / e.coltMs,
          tasks: sources.map((s) => ({ task: s.task, source: s.chosen.source })),
        }) + "\n",
      );
      return;
    }
    printOut(
      [
        `${file}: ${model.tasks.length} tasks (${tuned} of ${sources.length} distinct with a tuned schedule), ${threads} thread${threads > 1 ? "s" : ""} on CPU ${cpus}`,
        `  COLT          ${formatMs(e.coltMs).padStart(10)} median, the C library (model.c) end to end`,
        `  ONNX Runtime  ${formatMs(e.ortMs).padStart(10)} median, the whole model; outputs agree (relative L2 error ${e.error.toExponential(1)})`,
        `  COLT / ORT    ${(e.ortMs / e.coltMs).toFixed(2)}x (${e.ortMs >= e.coltMs ? "COLT faster" : "ONNX Runtime faster"}: ORT time / COLT time)`,
        "",
      ].join("\n"),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
