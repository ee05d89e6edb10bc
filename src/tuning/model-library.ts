/**
 * After a model is tuned: every distinct task's best schedule against ONNX Runtime on the
 * task's own subgraph (which also checks the import: ORT's output must match the
 * unscheduled program's), the library directory written and built with its one cc line,
 * its output checked against ONNX Runtime on the whole model, and tasks.json and
 * report.html. Without ONNX Runtime the library is still written and built, with no
 * comparison.
 */
import { join } from "node:path";
import { compareWithOrt } from "../compare/compare.ts";
import { loadOrt, OrtMissingError } from "../compare/ort-load.ts";
import { buildLibrary, checkLibrary } from "../library/check-library.ts";
import {
  reportHtml,
  tasksJson,
  type ModelReport,
  type TaskTimes,
} from "../library/model-report.ts";
import { writeLibrary } from "../library/write-library.ts";
import type { Compiler } from "../measure/compiler.ts";
import { MeasurementEngine } from "../measure/engine.ts";
import { taskSubgraph } from "../onnx/import/subgraph.ts";
import { Schedule } from "../schedule/schedule.ts";
import { parseTrace } from "../schedule/text.ts";
import { writeFileAt } from "../util/paths.ts";
import type { TunedModel, TunedTask } from "./model-tuner.ts";

export interface LibrarySettings {
  readonly compiler: Compiler;
  readonly cacheDir: string;
  readonly threads: number;
  readonly seed: number;
  readonly minMs: number;
}

async function ortAvailable(): Promise<boolean> {
  try {
    await loadOrt();
    return true;
  } catch (e) {
    if (e instanceof OrtMissingError) return false;
    throw e;
  }
}

/** The task's best schedule and ONNX Runtime on its subgraph, side by side. */
async function taskTimes(
  tuned: TunedModel,
  t: TunedTask,
  s: LibrarySettings,
  withOrt: boolean,
): Promise<{ bestMs: number; ortMs: number | null }> {
  const bestMs = t.bestMs ?? Infinity;
  if (!withOrt) return { bestMs, ortMs: null };
  const c = await compareWithOrt({
    workload: `${tuned.model.file}#${t.task.name}`,
    schedule: Schedule.fromTrace(t.task.program, parseTrace(t.bestTrace)),
    compiler: s.compiler,
    cacheDir: s.cacheDir,
    threads: s.threads,
    seed: s.seed,
    minMs: s.minMs,
    onnxModel: taskSubgraph(tuned.model, t.task),
  });
  return { bestMs: c.colt.medianMs, ortMs: c.ort.medianMs };
}

export async function buildModelLibrary(
  dir: string,
  tuned: TunedModel,
  s: LibrarySettings,
): Promise<ModelReport> {
  const { model } = tuned;
  const traces = new Map(tuned.tasks.map((t) => [t.task.name, t.bestTrace]));
  const plan = writeLibrary(dir, model, traces);
  buildLibrary(dir, model.file, s.compiler);
  const withOrt = await ortAvailable();
  const byName = new Map(tuned.tasks.map((t) => [t.task.name, t]));
  const times = new Map<string, { bestMs: number; ortMs: number | null }>();
  for (const t of tuned.tasks) times.set(t.task.name, await taskTimes(tuned, t, s, withOrt));
  const tasks = model.tasks.map((task): TaskTimes => {
    const twin = byName.get(task.sameAs ?? task.name) as TunedTask;
    const own = task.sameAs === undefined;
    const time = times.get(twin.task.name) as { bestMs: number; ortMs: number | null };
    return {
      name: task.name,
      kind: task.kind,
      ...(task.sameAs !== undefined ? { sameAs: task.sameAs } : {}),
      nodes: task.nodes.map((n) => n.name),
      flops: task.flops,
      trials: own ? twin.trials : 0,
      baselineMs: twin.baselineMs ?? time.bestMs,
      bestMs: time.bestMs,
      ortMs: time.ortMs,
      trace: twin.bestTrace,
      runs: own ? twin.runs : [],
    };
  });
  const cpus = new MeasurementEngine({ ...s }).pinnedCpus();
  const endToEnd = withOrt ? await checkLibrary(dir, model.file, plan, { ...s, cpus }) : null;
  const report: ModelReport = {
    model: model.file,
    threads: s.threads,
    trials: tuned.trials,
    tasks,
    endToEnd,
  };
  writeFileAt(join(dir, "tasks.json"), tasksJson(report), "--out");
  writeFileAt(join(dir, "report.html"), reportHtml(report), "--out");
  return report;
}
