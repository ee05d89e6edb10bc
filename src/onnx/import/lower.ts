/**
 * Lowers one task to a COLT program: heavy nodes become stages, element-wise and layout
 * nodes become index and value expressions inlined into their readers. Values from other
 * tasks, graph inputs and weights become program inputs. Names are canonical (in0, in1,
 * matmul0, ...) so that identical layers give identical programs.
 */
import { ProgramBuilder, TensorRef } from "../../ir/builder.ts";
import { add } from "../../ir/int-expr.ts";
import type { Program } from "../../ir/program.ts";
import { intAttr, type OnnxNode } from "./graph.ts";
import {
  convStages,
  gemmStages,
  globalAveragePoolStage,
  layerNormStages,
  materialize,
  matmulStage,
  poolStage,
  reduceStage,
  softmaxStages,
  type StageContext,
} from "./heavy.ts";
import { binaryExpr, powExpr, unaryExpr } from "./elementwise.ts";
import {
  constScalar,
  normAxis,
  reduceParams,
  sliceAxes,
  splitSizes,
  transposePerm,
  type ConstLookup,
  type Shape,
} from "./op-params.ts";
import type { Partition, TaskPlan } from "./partition.ts";
import type { ShapedGraph } from "./shapes.ts";
import {
  broadcastTo,
  concatView,
  reshapeView,
  sliceView,
  transposeView,
  view,
  type View,
} from "./view.ts";

export interface LoweredTask {
  readonly program: Program;
  /** Program input name and the ONNX value it holds, in program order. */
  readonly inputs: readonly { readonly name: string; readonly value: string }[];
  /** Program output stage and the ONNX value it holds, in program order. */
  readonly outputs: readonly { readonly stage: string; readonly value: string }[];
  /** The ONNX nodes the task computes (layout and inlined element-wise nodes included). */
  readonly nodes: readonly OnnxNode[];
}

/** Operators whose later inputs are constant parameters (shape, axes, starts, split). */
const PARAMETER_INPUTS = [
  "Reshape",
  "Expand",
  "Squeeze",
  "Unsqueeze",
  "Slice",
  "Split",
  "ReduceMean",
  "ReduceSum",
  "ReduceMax",
];

export function lowerTask(
  g: ShapedGraph,
  part: Partition,
  task: TaskPlan,
  programName: string,
): LoweredTask {
  // The model's fixed symbolic dimensions are the program's shape parameters, for display.
  const b = new ProgramBuilder(programName, g.graph.dims);
  const counts = new Map<string, number>();
  const ctx: StageContext = {
    b,
    fresh: (base) => {
      const k = counts.get(base) ?? 0;
      counts.set(base, k + 1);
      return `${base}${k}`;
    },
  };
  const inputs: { name: string; value: string }[] = [];
  const covered = new Set<OnnxNode>();
  const memo = new Map<string, View>();
  const lookup = (name: string) => g.consts.get(name);
  const shapeOf = (v: string): Shape => g.shapes.get(v) ?? [];

  // Initializers and Constant values are the model's parameters: weights, which a
  // schedule may `prepare` (re-lay once) and the library prepares at load.
  const inputView = (value: string): View => {
    const name = `in${inputs.length}`;
    const t = g.consts.has(value) ? b.weight(name, shapeOf(value)) : b.input(name, shapeOf(value));
    inputs.push({ name: t.name, value });
    return view(t.shape, (idx) => t.at(...idx));
  };
  const valueView = (v: string): View => {
    const known = memo.get(v);
    if (known) return known;
    const result = computeView(v);
    memo.set(v, result);
    return result;
  };
  const computeView = (v: string): View => {
    const scalar = constScalar(lookup, v);
    if (scalar !== undefined) return view(shapeOf(v), () => ({ k: "const", v: scalar }));
    const p = g.producers.get(v);
    const owner = p ? part.taskOf.get(p) : undefined;
    if (!p || p.op === "Constant" || (owner !== undefined && owner !== task.index))
      return inputView(v);
    covered.add(p);
    const data = PARAMETER_INPUTS.includes(p.op) ? [p.inputs[0]] : p.inputs;
    const ins = data.map((i) => (i ? valueView(i) : undefined));
    const result = nodeView(ctx, p, v, ins, shapeOf(v), lookup);
    const sharedHere =
      owner === task.index && !result.stage && (g.consumers.get(v)?.length ?? 0) > 1;
    return sharedHere ? materialize(ctx, p.op.toLowerCase(), result) : result;
  };

  for (const h of task.heavy) valueView(h.outputs[0]);
  const outputs = task.outputs.map((value) => {
    const v = valueView(value);
    const stage = v.stage ?? materialize(ctx, "out", v).stage;
    return { stage, value, shape: v.shape };
  });
  const program = b.build(outputs.map((o) => new TensorRef(o.stage, o.shape)));
  return {
    program,
    inputs,
    outputs: outputs.map(({ stage, value }) => ({ stage, value })),
    nodes: g.graph.nodes.filter((n) => covered.has(n)),
  };
}

function nodeView(
  ctx: StageContext,
  n: OnnxNode,
  value: string,
  ins: readonly (View | undefined)[],
  shape: Shape,
  lookup: ConstLookup,
): View {
  const x = ins[0] as View;
  const operand = (k: number) => broadcastTo(ins[k] as View, shape);
  switch (n.op) {
    case "Identity":
      return x;
    case "Transpose":
      return transposeView(x, transposePerm(n, x.shape.length));
    case "Reshape":
    case "Flatten":
    case "Squeeze":
    case "Unsqueeze":
      return reshapeView(x, shape);
    case "Expand":
      return broadcastTo(x, shape);
    case "Slice":
      return sliceView(x, sliceAxes(n, lookup, x.shape));
    case "Split": {
      const { axis, sizes } = splitSizes(n, lookup, x.shape);
      const offset = sizes.slice(0, n.outputs.indexOf(value)).reduce((s, v) => s + v, 0);
      return view(shape, (idx) => x.at(idx.map((ix, d) => (d === axis ? add(ix, offset) : ix))));
    }
    case "Concat":
      return concatView(ins as View[], normAxis(intAttr(n, "axis", 0), shape.length));
    case "Pow": {
      const exponent = constScalar(lookup, n.inputs[1]) ?? 1;
      const base = operand(0);
      return view(shape, (idx) => powExpr(base.at(idx), exponent));
    }
    case "Add":
    case "Sub":
    case "Mul":
    case "Div": {
      const [a, b] = [operand(0), operand(1)];
      return view(shape, (idx) => binaryExpr(n.op, a.at(idx), b.at(idx)));
    }
    case "MatMul":
      return matmulStage(ctx, x, ins[1] as View);
    case "Gemm":
      return gemmStages(ctx, n, x, ins[1] as View, ins[2]);
    case "Conv":
      return convStages(ctx, n, x, ins[1] as View, ins[2]);
    case "MaxPool":
    case "AveragePool":
      return poolStage(ctx, n, x);
    case "GlobalAveragePool":
      return globalAveragePoolStage(ctx, x);
    case "Softmax":
      return softmaxStages(ctx, n, x);
    case "LayerNormalization":
      return layerNormStages(ctx, n, x, ins[1] as View, ins[2]);
    case "ReduceMean":
    case "ReduceSum":
    case "ReduceMax":
      return reduceStage(
        ctx,
        n.op.toLowerCase(),
        x,
        reduceParams(n, lookup, x.shape),
        n.op === "ReduceMax" ? "max" : "sum",
        n.op === "ReduceMean",
      );
    default:
      return view(shape, (idx) => unaryExpr(n, x.at(idx)));
  }
}
