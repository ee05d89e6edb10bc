/**
 * Small ONNX models built in code for the importer's tests (nothing is downloaded): a
 * GPT-2-style block, a Llama-style block and a small CNN at odd sizes, and models the
 * importer must refuse.
 */
import { writeFileSync } from "node:fs";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

type Attr = number | string | readonly number[] | { readonly float: number };

/** A graph written node by node with explicit value names (Split has several outputs). */
export class TestGraph {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private next = 0;

  constructor(readonly opset = 17) {}

  input(
    name: string,
    dims: readonly (number | string)[],
    elemType: number = DataType.FLOAT,
  ): string {
    this.inputs.push({
      name,
      type: {
        tensorType: {
          elemType,
          shape: {
            dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })),
          },
        },
      },
    });
    return name;
  }

  /** Deterministic, varied weights in about [-0.5, 0.5]. */
  weight(shape: readonly number[], scale = 0.5): string {
    const phase = this.next;
    return this.floats(shape, (i) => scale * Math.sin(i * 1.7 + phase));
  }

  floats(shape: readonly number[], value: (i: number) => number): string {
    const size = shape.reduce((n, d) => n * d, 1);
    return this.init(
      shape,
      DataType.FLOAT,
      new Uint8Array(Float32Array.from({ length: size }, (_, i) => value(i)).buffer),
    );
  }

  scalar(v: number): string {
    return this.init([], DataType.FLOAT, new Uint8Array(new Float32Array([v]).buffer));
  }

  ints(values: readonly number[]): string {
    return this.init(
      [values.length],
      DataType.INT64,
      new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
    );
  }

  int8s(shape: readonly number[]): string {
    const size = shape.reduce((n, d) => n * d, 1);
    return this.init(shape, DataType.INT8, new Uint8Array(size));
  }

  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    outputs = 1,
  ): string[] {
    const names = Array.from({ length: outputs }, () => `${op.toLowerCase()}_${this.next++}`);
    this.nodes.push({
      opType: op,
      name: `${op}_${this.next++}`,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return names;
  }

  /** A Constant node holding a float scalar. */
  constant(v: number): string {
    const [name] = this.node("Constant", []);
    const value = { dims: [], dataType: DataType.FLOAT, floatData: [v] };
    this.nodes[this.nodes.length - 1].attribute = [
      { name: "value", type: AttributeType.TENSOR, t: value },
    ];
    return name;
  }

  /** A one-output node. */
  op(op: string, inputs: readonly string[], attrs: Record<string, Attr> = {}): string {
    return this.node(op, inputs, attrs)[0];
  }

  output(name: string): void {
    this.outputs.push({ name, type: { tensorType: { elemType: DataType.FLOAT } } });
  }

  write(file: string): string {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: "colt-test",
      opsetImport: [{ domain: "", version: this.opset }],
      graph: {
        name: "test",
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    return file;
  }

  private init(dims: readonly number[], dataType: number, rawData: Uint8Array): string {
    const name = `w_${this.next++}`;
    this.inits.push({ name, dims: [...dims], dataType, rawData });
    return name;
  }
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  if (typeof v === "number") return { name, type: AttributeType.INT, i: v };
  if (typeof v === "string")
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if ("float" in v) return { name, type: AttributeType.FLOAT, f: v.float };
  return { name, type: AttributeType.INTS, ints: [...(v as readonly number[])] };
}

/** Causal mask as exporters fold it: 0 on and below the diagonal, a large negative above. */
function causalMask(g: TestGraph, s: number): string {
  return g.floats([1, 1, s, s], (i) => (i % s > Math.floor(i / s) ? -10000 : 0));
}

export interface BlockSizes {
  readonly S: number;
  readonly E: number;
  readonly H: number;
  readonly F: number;
}

/** LayerNorm, fused QKV Gemm with bias, Split, head Reshape/Transpose, causal attention, erf-GELU MLP, residuals. */
export function gpt2Block(
  file: string,
  { S, E, H, F }: BlockSizes = { S: 7, E: 12, H: 3, F: 20 },
): string {
  const D = E / H;
  const g = new TestGraph(17);
  const x = g.input("x", [1, S, E]);
  const ln1 = g.op("LayerNormalization", [x, g.weight([E]), g.weight([E])], {
    axis: -1,
    epsilon: { float: 1e-5 },
  });
  const flat = g.op("Reshape", [ln1, g.ints([S, E])]);
  const qkv = g.op("Gemm", [flat, g.weight([E, 3 * E]), g.weight([3 * E])]);
  const [q, k, v] = g.node("Split", [qkv, g.ints([E, E, E])], { axis: 1 }, 3);
  const heads = (t: string, perm: number[]) =>
    g.op("Transpose", [g.op("Reshape", [t, g.ints([1, S, H, D])])], { perm });
  const scores = g.op("MatMul", [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]);
  const scaled = g.op("Div", [scores, g.scalar(Math.sqrt(D))]);
  const masked = g.op("Add", [scaled, causalMask(g, S)]);
  const probs = g.op("Softmax", [masked], { axis: -1 });
  const ctx = g.op("MatMul", [probs, heads(v, [0, 2, 1, 3])]);
  const merged = g.op("Reshape", [
    g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }),
    g.ints([S, E]),
  ]);
  const proj = g.op("Gemm", [merged, g.weight([E, E]), g.weight([E])], { transB: 1 });
  const h = g.op("Add", [x, g.op("Reshape", [proj, g.ints([1, S, E])])]);
  const ln2 = g.op("LayerNormalization", [h, g.weight([E]), g.weight([E])], {
    axis: -1,
    epsilon: { float: 1e-5 },
  });
  const up = g.op("Add", [g.op("MatMul", [ln2, g.weight([E, F])]), g.weight([F])]);
  const erf = g.op("Erf", [g.op("Div", [up, g.scalar(Math.SQRT2)])]);
  const gelu = g.op("Mul", [g.op("Mul", [up, g.scalar(0.5)]), g.op("Add", [erf, g.scalar(1)])]);
  const down = g.op("Add", [g.op("MatMul", [gelu, g.weight([F, E])]), g.weight([E])]);
  g.output(g.op("Add", [h, down]));
  return g.write(file);
}

export interface LlamaSizes {
  readonly S: number;
  readonly E: number;
  readonly Hq: number;
  readonly Hkv: number;
  readonly F: number;
}

/** RMSNorm written out, grouped-query attention with Expand, SwiGLU with Sigmoid; opset 18 (axes as inputs). */
export function llamaBlock(
  file: string,
  { S, E, Hq, Hkv, F }: LlamaSizes = { S: 5, E: 12, Hq: 3, Hkv: 1, F: 18 },
): string {
  const D = E / Hq;
  const g = new TestGraph(18);
  const x = g.input("x", [1, S, E]);
  const rms = (t: string) => {
    const mean = g.op("ReduceMean", [g.op("Pow", [t, g.scalar(2)]), g.ints([-1])], { keepdims: 1 });
    const norm = g.op("Div", [t, g.op("Sqrt", [g.op("Add", [mean, g.scalar(1e-6)])])]);
    return g.op("Mul", [norm, g.weight([E])]);
  };
  const n1 = rms(x);
  const proj = (t: string, out: number) => g.op("MatMul", [t, g.weight([E, out])]);
  const heads = (t: string, h: number) =>
    g.op("Transpose", [g.op("Reshape", [t, g.ints([1, S, h, D])])], { perm: [0, 2, 1, 3] });
  const repeat = (t: string) => {
    const wide = g.op("Expand", [
      g.op("Unsqueeze", [t, g.ints([2])]),
      g.ints([1, Hkv, Hq / Hkv, S, D]),
    ]);
    return g.op("Reshape", [wide, g.ints([1, Hq, S, D])]);
  };
  const q = heads(proj(n1, Hq * D), Hq);
  const k = g.op("Transpose", [repeat(heads(proj(n1, Hkv * D), Hkv))], { perm: [0, 1, 3, 2] });
  const v = repeat(heads(proj(n1, Hkv * D), Hkv));
  const scores = g.op("Mul", [g.op("MatMul", [q, k]), g.scalar(1 / Math.sqrt(D))]);
  const probs = g.op("Softmax", [g.op("Add", [scores, causalMask(g, S)])], { axis: -1 });
  const ctx = g.op("MatMul", [probs, v]);
  const merged = g.op("Reshape", [
    g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }),
    g.ints([1, S, E]),
  ]);
  const h = g.op("Add", [x, proj(merged, E)]);
  const n2 = rms(h);
  const gate = proj(n2, F);
  const silu = g.op("Mul", [gate, g.op("Sigmoid", [gate])]);
  const act = g.op("Mul", [silu, proj(n2, F)]);
  g.output(g.op("Add", [h, g.op("MatMul", [act, g.weight([F, E])])]));
  return g.write(file);
}

/** Conv with bias, Relu, strided Conv, MaxPool, GlobalAveragePool, Flatten, Gemm, Softmax. */
export function smallCnn(file: string): string {
  const g = new TestGraph(17);
  const x = g.input("image", [1, 3, 11, 9]);
  const c1 = g.op("Relu", [
    g.op("Conv", [x, g.weight([5, 3, 3, 3]), g.weight([5])], { pads: [1, 1, 1, 1] }),
  ]);
  const c2 = g.op("Relu", [
    g.op("Conv", [c1, g.weight([6, 5, 3, 3]), g.weight([6])], {
      strides: [2, 2],
      pads: [1, 1, 1, 1],
    }),
  ]);
  const pooled = g.op("MaxPool", [c2], { kernel_shape: [2, 2], strides: [2, 2] });
  const flat = g.op("Flatten", [g.op("GlobalAveragePool", [pooled])], { axis: 1 });
  const logits = g.op("Gemm", [flat, g.weight([7, 6]), g.weight([7])], { transB: 1 });
  g.output(g.op("Softmax", [logits], { axis: 1 }));
  return g.write(file);
}

/**
 * The operators the blocks above do not use, at opset 20 (Gelu; axes as inputs): Constant,
 * Sub, Exp, Reciprocal, Tanh, Gelu, Identity, Slice with a step, Unsqueeze, Squeeze, Concat,
 * Split into uneven parts, ReduceSum, ReduceMax, Gemm with transA, alpha and beta, padded
 * AveragePool, and outputs computed by element-wise nodes alone.
 */
export function operatorZoo(file: string): string {
  const g = new TestGraph(20);
  const x = g.input("x", [2, 5, 6]);
  // Scaled far down and back up: constants C must print in exponent form.
  const tiny = g.op("Div", [g.op("Sub", [x, g.constant(0.25)]), g.scalar(1e30)]);
  const shifted = g.op("Mul", [tiny, g.scalar(1e30)]);
  const squashed = g.op("Reciprocal", [g.op("Add", [g.op("Exp", [shifted]), g.scalar(1)])]);
  g.output(g.op("Gelu", [g.op("Tanh", [squashed])], { approximate: "tanh" }));
  const sliced = g.op("Slice", [x, g.ints([1]), g.ints([6]), g.ints([2]), g.ints([2])]);
  const roundTrip = g.op("Squeeze", [g.op("Unsqueeze", [sliced, g.ints([0])]), g.ints([0])]);
  const joined = g.op("Identity", [g.op("Concat", [sliced, roundTrip], { axis: 2 })]);
  g.output(g.op("ReduceSum", [joined, g.ints([1])], { keepdims: 0 }));
  const [front, back] = g.node("Split", [x], { axis: 1, num_outputs: 2 }, 2);
  g.output(g.op("ReduceMax", [front, g.ints([-1])], { keepdims: 1 }));
  const a = g.op("Reshape", [back, g.ints([4, 6])]);
  g.output(
    g.op("Gemm", [a, g.weight([4, 7]), g.weight([6, 7])], {
      transA: 1,
      alpha: { float: 0.5 },
      beta: { float: 2 },
    }),
  );
  const image = g.op("Reshape", [x, g.ints([1, 2, 5, 6])]);
  g.output(
    g.op("AveragePool", [image], {
      kernel_shape: [3, 2],
      strides: [2, 1],
      pads: [1, 0, 1, 1],
      count_include_pad: 1,
    }),
  );
  return g.write(file);
}
