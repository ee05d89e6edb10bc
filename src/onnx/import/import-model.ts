/**
 * `colt import`'s engine: read and check an ONNX file, infer shapes, partition into tasks
 * and lower each task to a COLT program. Identical tasks (same program, same shapes) are
 * marked, so that they are tuned once.
 */
import { basename } from "node:path";
import { programHash } from "../../ir/hash.ts";
import { flopCount, type Program } from "../../ir/program.ts";
import { UnknownTaskError } from "./errors.ts";
import { readOnnxGraph, type OnnxNode } from "./graph.ts";
import { lowerTask, type LoweredTask } from "./lower.ts";
import { partition, type TaskPlan } from "./partition.ts";
import { inferShapes, type ShapedGraph } from "./shapes.ts";

export interface ImportedTask extends LoweredTask {
  readonly name: string;
  readonly kind: string;
  readonly flops: number;
  /** The earlier task with the same program, when there is one: tune that one. */
  readonly sameAs?: string;
}

export interface ImportedModel {
  readonly file: string;
  readonly graph: ShapedGraph;
  readonly tasks: readonly ImportedTask[];
}

const KIND_OF_OP: Readonly<Record<string, string>> = {
  MatMul: "matmul",
  Gemm: "gemm",
  Conv: "conv",
  Softmax: "softmax",
  LayerNormalization: "layernorm",
  ReduceMean: "reduce",
  ReduceSum: "reduce",
  ReduceMax: "reduce",
  MaxPool: "maxpool",
  AveragePool: "avgpool",
  GlobalAveragePool: "avgpool",
};

function taskKind(g: ShapedGraph, task: TaskPlan): string {
  const ops = task.heavy.map((h: OnnxNode) => h.op);
  if (ops.join(",") === "MatMul,Softmax,MatMul") return "attention";
  if (ops.length === 0) return "elementwise";
  if (ops[0] === "ReduceMean" && g.producers.get(task.heavy[0].inputs[0])?.op === "Pow")
    return "rmsnorm";
  return KIND_OF_OP[ops[0]];
}

export function importModel(
  file: string,
  dims: Readonly<Record<string, number>> = {},
): ImportedModel {
  const graph = inferShapes(readOnnxGraph(file, dims));
  const plan = partition(graph);
  const perKind = new Map<string, number>();
  const byHash = new Map<string, string>();
  const tasks = plan.tasks.map((t): ImportedTask => {
    const kind = taskKind(graph, t);
    const k = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, k);
    const name = `${kind}-${k}`;
    const lowered = lowerTask(graph, plan, t, `${basename(file)}#${name}`);
    const hash = programHash(lowered.program);
    const sameAs = byHash.get(hash);
    if (!sameAs) byHash.set(hash, name);
    return {
      ...lowered,
      name,
      kind,
      flops: flopCount(lowered.program),
      ...(sameAs ? { sameAs } : {}),
    };
  });
  return { file, graph, tasks };
}

/** The task `task` of a model (`model.onnx#task`), with the model it belongs to. */
export function importedTask(
  file: string,
  task: string,
  dims: Readonly<Record<string, number>> = {},
): { model: ImportedModel; task: ImportedTask } {
  const model = importModel(file, dims);
  const found = model.tasks.find((t) => t.name === task);
  if (!found)
    throw new UnknownTaskError(
      file,
      task,
      model.tasks.map((t) => t.name),
    );
  return { model, task: found };
}

export const importedProgram = (
  file: string,
  task: string,
  dims: Readonly<Record<string, number>> = {},
): Program => importedTask(file, task, dims).task.program;
