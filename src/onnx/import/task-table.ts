/** The task table of an imported model: what `colt import` prints, as data. */
import type { ImportedModel } from "./import-model.ts";

export interface TaskRow {
  readonly name: string;
  readonly kind: string;
  /** Names of the ONNX nodes the task covers, in graph order. */
  readonly nodes: readonly string[];
  readonly ops: readonly string[];
  readonly inputs: readonly { readonly value: string; readonly shape: readonly number[] }[];
  readonly outputs: readonly { readonly value: string; readonly shape: readonly number[] }[];
  readonly flops: number;
  /** Share of the model's FLOPs (every task counted, identical ones included). */
  readonly share: number;
  readonly sameAs?: string;
}

export function taskTable(model: ImportedModel): TaskRow[] {
  const total = model.tasks.reduce((n, t) => n + t.flops, 0);
  const shapeOf = (value: string) => model.graph.shapes.get(value) ?? [];
  return model.tasks.map((t) => ({
    name: t.name,
    kind: t.kind,
    nodes: t.nodes.map((n) => n.name),
    ops: t.nodes.map((n) => n.op),
    inputs: t.inputs.map((i) => ({ value: i.value, shape: shapeOf(i.value) })),
    outputs: t.outputs.map((o) => ({ value: o.value, shape: shapeOf(o.value) })),
    flops: t.flops,
    share: total > 0 ? t.flops / total : 0,
    ...(t.sameAs ? { sameAs: t.sameAs } : {}),
  }));
}
