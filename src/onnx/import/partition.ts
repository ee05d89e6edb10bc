/**
 * Partitions a shaped graph into tasks. Each heavy operator starts a task; an element-wise
 * node joins the task of its latest producer (an epilogue: bias, activation, residual add);
 * the attention pattern MatMul -> scale -> mask -> Softmax -> MatMul is one task; layout
 * operators belong to no task: whoever reads through them folds them into its indices.
 * An element-wise node whose inputs are needed elsewhere anyway and that only feeds
 * streaming reductions (norms, softmax, pooling) is inlined into them instead (RMSNorm's
 * Pow), so that it costs no extra tensor.
 */
import type { OnnxNode } from "./graph.ts";
import { isArithmetic, isHeavy, isLayout, STREAMING_OPS, type ShapedGraph } from "./shapes.ts";

export interface TaskPlan {
  readonly index: number;
  /** Heavy nodes in order: one, or MatMul, Softmax, MatMul for attention. */
  readonly heavy: OnnxNode[];
  /** Values the task writes: read by other tasks or graph outputs. */
  readonly outputs: string[];
}

export interface Partition {
  readonly tasks: readonly TaskPlan[];
  /** Task of every heavy node and of every element-wise node that is not inlined. */
  readonly taskOf: ReadonlyMap<OnnxNode, number>;
}

const STREAMING: readonly string[] = STREAMING_OPS;

export function partition(g: ShapedGraph): Partition {
  const tasks: TaskPlan[] = [];
  const taskOf = new Map<OnnxNode, number>();
  const effective = new Map<string, number | undefined>();
  /** The task a value comes from, looking through layout and inlined nodes. */
  const taskOfValue = (v: string): number | undefined => {
    if (effective.has(v)) return effective.get(v);
    const p = g.producers.get(v);
    const t = !p
      ? undefined
      : (taskOf.get(p) ?? latest(p.inputs.filter((i) => i).map(taskOfValue)));
    effective.set(v, t);
    return t;
  };
  const newTask = (n: OnnxNode) => {
    tasks.push({ index: tasks.length, heavy: [n], outputs: [] });
    taskOf.set(n, tasks.length - 1);
  };
  const heavyOps = (t: number) => tasks[t].heavy.map((h) => h.op).join(",");
  for (const n of g.graph.nodes) {
    if (isHeavy(n.op)) {
      const t = taskOfValue(n.inputs[0]);
      const other = n.inputs[1] ? taskOfValue(n.inputs[1]) : undefined;
      const joins =
        t !== undefined &&
        ((n.op === "Softmax" && heavyOps(t) === "MatMul") ||
          (n.op === "MatMul" &&
            heavyOps(t) === "MatMul,Softmax" &&
            (other === undefined || other < t)));
      if (joins) {
        tasks[t].heavy.push(n);
        taskOf.set(n, t);
      } else newTask(n);
    } else if (isArithmetic(n.op)) {
      const t = latest(n.inputs.filter((i) => i).map(taskOfValue));
      if (t !== undefined) taskOf.set(n, t);
    }
  }
  const consumersThroughLayout = (v: string): OnnxNode[] =>
    (g.consumers.get(v) ?? []).flatMap((c) =>
      isLayout(c.op) ? c.outputs.flatMap(consumersThroughLayout) : [c],
    );
  /** Graph outputs that are `v` or a layout view of it. */
  const outputsReached = (v: string): string[] => [
    ...(g.graph.outputs.includes(v) ? [v] : []),
    ...(g.consumers.get(v) ?? []).flatMap((c) =>
      isLayout(c.op) ? c.outputs.flatMap(outputsReached) : [],
    ),
  ];
  for (const n of [...g.graph.nodes].reverse()) {
    const t = taskOf.get(n);
    if (t === undefined || !isArithmetic(n.op) || outputsReached(n.outputs[0]).length > 0) continue;
    const readers = consumersThroughLayout(n.outputs[0]);
    const feedsStreamingElsewhere = readers.every((c) =>
      taskOf.has(c) ? STREAMING.includes(c.op) && taskOf.get(c) !== t : isArithmetic(c.op),
    );
    const inputsNeededElsewhere = n.inputs.every(
      (i) => !i || taskOfValue(i) !== t || consumersThroughLayout(i).length > 1,
    );
    if (feedsStreamingElsewhere && inputsNeededElsewhere) taskOf.delete(n);
  }
  for (const n of g.graph.nodes) {
    const t = taskOf.get(n);
    if (t === undefined) continue;
    for (const v of n.outputs) {
      if (consumersThroughLayout(v).some((c) => taskOf.get(c) !== t)) tasks[t].outputs.push(v);
      for (const o of outputsReached(v))
        if (!tasks[t].outputs.includes(o)) tasks[t].outputs.push(o);
    }
  }
  for (const o of g.graph.outputs) {
    const p = g.producers.get(o);
    if (p && !taskOf.has(p) && taskOfValue(o) === undefined) {
      tasks.push({ index: tasks.length, heavy: [], outputs: [o] });
    }
  }
  return { tasks, taskOf };
}

function latest(tasks: readonly (number | undefined)[]): number | undefined {
  const known = tasks.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}
