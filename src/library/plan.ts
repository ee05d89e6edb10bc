/**
 * Where every value of a model lives in its C library, and the kernel calls in order:
 * graph inputs and outputs are the caller's arrays, weights (initializers and Constant
 * values the tasks read) are slices of the loaded weights file, and every other task
 * output is a slice of one workspace. Layout operators were folded into the tasks' index
 * expressions at import, so they need nothing here. Workspace slices are reused once
 * their value is dead (src/library/workspace.ts).
 */
import type { ImportedModel } from "../onnx/import/import-model.ts";
import { LibraryError } from "./errors.ts";
import { taskKernel, type TaskKernel } from "./task-kernel.ts";
import { alignUp, Workspace } from "./workspace.ts";

export type Place =
  | { readonly k: "input"; readonly index: number }
  | { readonly k: "output"; readonly index: number }
  | { readonly k: "weight"; readonly offset: number }
  | { readonly k: "work"; readonly offset: number };

export interface KernelCall {
  readonly task: string;
  readonly kernel: TaskKernel;
  /** The kernel's parameters before the prepared block and the scratch: inputs, then outputs. */
  readonly args: readonly Place[];
  /** The weights its prepare function re-lays, once at load, into prepared block `block`. */
  readonly prepared?: { readonly block: number; readonly from: readonly Place[] };
}

export interface WeightSlot {
  readonly value: string;
  readonly offset: number;
  readonly data: Float32Array;
}

export interface ModelTensor {
  readonly value: string;
  readonly shape: readonly number[];
}

export interface LibraryPlan {
  /** Distinct kernels, in the model's order, each with its task's name. */
  readonly kernels: readonly { readonly task: string; readonly kernel: TaskKernel }[];
  readonly calls: readonly KernelCall[];
  readonly weights: readonly WeightSlot[];
  readonly weightFloats: number;
  /** Floats of the intermediates; the kernels' scratch follows them. */
  readonly workFloats: number;
  readonly preparedBlocks: number;
  readonly inputs: readonly ModelTensor[];
  readonly outputs: readonly ModelTensor[];
}

const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** `traces`: the best trace of every distinct task (a task marked `sameAs` uses its twin's). */
export function planLibrary(
  model: ImportedModel,
  traces: ReadonlyMap<string, string>,
): LibraryPlan {
  const g = model.graph;
  const shape = (v: string) => g.shapes.get(v) ?? [];
  const places = new Map<string, Place>();
  const inputs = [...g.graph.inputs.keys()].map((value, index) => {
    places.set(value, { k: "input", index });
    return { value, shape: shape(value) };
  });
  const outputs = g.graph.outputs.map((value, index) => {
    places.set(value, { k: "output", index });
    return { value, shape: shape(value) };
  });
  const weights: WeightSlot[] = [];
  let weightFloats = 0;
  const workspace = new Workspace();
  const lastUse = new Map<string, number>();
  model.tasks.forEach((t, i) => {
    for (const x of t.inputs) lastUse.set(x.value, i);
  });
  let preparedBlocks = 0;
  const placeOf = (task: string, value: string): Place => {
    const known = places.get(value);
    if (known) return known;
    const constant = g.consts.get(value);
    if (!constant?.floats)
      throw new LibraryError(
        model.file,
        "plan",
        `task ${task} reads ${value} before any task writes it`,
      );
    const slot = { value, offset: weightFloats, data: constant.floats };
    weights.push(slot);
    weightFloats += alignUp(constant.floats.length);
    const place: Place = { k: "weight", offset: slot.offset };
    places.set(value, place);
    return place;
  };
  const kernels = new Map<string, TaskKernel>();
  const calls = model.tasks.map((task, index): KernelCall => {
    const twin = task.sameAs ?? task.name;
    let kernel = kernels.get(twin);
    if (!kernel) {
      const trace = traces.get(twin) ?? "";
      kernel = taskKernel(task.program, trace, `colt_t${kernels.size + 1}`);
      kernels.set(twin, kernel);
    }
    const inputOf = (name: string) => {
      const i = task.inputs.findIndex((x) => x.name === name);
      return placeOf(task.name, task.inputs[i].value);
    };
    const args = kernel.source.kernelInputs.map(inputOf);
    for (const o of task.outputs) {
      if (places.has(o.value)) {
        if (places.get(o.value)?.k !== "output")
          throw new LibraryError(
            model.file,
            "plan",
            `${o.value} is written by task ${task.name} and known before it`,
          );
        continue;
      }
      const offset = workspace.place(index, size(shape(o.value)), lastUse.get(o.value) ?? index);
      places.set(o.value, { k: "work", offset });
    }
    args.push(...task.outputs.map((o) => places.get(o.value) as Place));
    const { preparedFrom } = kernel.source;
    const prepared =
      preparedFrom.length > 0
        ? { block: preparedBlocks++, from: preparedFrom.map(inputOf) }
        : undefined;
    return { task: task.name, kernel, args, ...(prepared ? { prepared } : {}) };
  });
  const missing = outputs.find(
    (o) => !model.tasks.some((t) => t.outputs.some((x) => x.value === o.value)),
  );
  if (missing)
    throw new LibraryError(
      model.file,
      "plan",
      `graph output ${missing.value} is written by no task`,
    );
  return {
    kernels: [...kernels].map(([task, kernel]) => ({ task, kernel })),
    calls,
    weights,
    weightFloats,
    workFloats: workspace.floats,
    preparedBlocks,
    inputs,
    outputs,
  };
}
