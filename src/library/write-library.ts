/** Writes a model's library directory: model.h, model.c, model.weights, main.c, README.txt. */
import { join } from "node:path";
import { ensureDir, writeFileAt } from "../util/paths.ts";
import type { ImportedModel } from "../onnx/import/import-model.ts";
import { MAIN_SOURCE, readme } from "./main-source.ts";
import { modelHeader, modelSource } from "./model-source.ts";
import { planLibrary, type LibraryPlan } from "./plan.ts";

export const WEIGHTS_FILE = "model.weights";
export const RUNNER = "run";

/** The weights in the order and alignment model.c reads them, as little-endian bytes. */
export function weightBytes(plan: LibraryPlan): Uint8Array {
  const all = new Float32Array(plan.weightFloats);
  for (const w of plan.weights) all.set(w.data, w.offset);
  const bytes = new Uint8Array(all.byteLength);
  const view = new DataView(bytes.buffer);
  all.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

/** `traces`: the best trace of every distinct task, by task name. */
export function writeLibrary(
  dir: string,
  model: ImportedModel,
  traces: ReadonlyMap<string, string>,
): LibraryPlan {
  const plan = planLibrary(model, traces);
  ensureDir(dir, "--out");
  const write = (file: string, data: string | Uint8Array) =>
    writeFileAt(join(dir, file), data, "--out");
  write("model.h", modelHeader(model.file, plan));
  write("model.c", modelSource(model.file, plan, traces));
  write(WEIGHTS_FILE, weightBytes(plan));
  write("main.c", MAIN_SOURCE);
  write("README.txt", readme(model.file, plan));
  return plan;
}
