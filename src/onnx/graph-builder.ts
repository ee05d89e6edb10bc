/**
 * Builds an ONNX graph node by node and writes it as a ModelProto (onnx-proto, the
 * protobufjs-generated ONNX definitions, which read ONNX files as well).
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** Opset 17: the first with LayerNormalization, as PyTorch's exporter writes it. */
const OPSET = 17;
const IR_VERSION = 8;

export type AttributeValue = number | readonly number[] | { readonly float: number };

interface ValueInfo {
  readonly name: string;
  readonly shape: readonly number[];
}

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private nextId = 0;

  constructor(readonly name: string) {}

  /** An activation: a graph input the caller feeds at run time. */
  input(name: string, shape: readonly number[]): string {
    this.inputs.push({ name, shape });
    return name;
  }

  /** A model parameter stored in the model (fp32). */
  weight(name: string, shape: readonly number[], data: Float32Array): string {
    this.initializers.push({
      name,
      dims: [...shape],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** A float scalar constant, broadcast by the ops that read it. */
  scalar(value: number): string {
    const name = this.fresh("scalar");
    this.initializers.push({
      name,
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(new Float32Array([value]).buffer),
    });
    return name;
  }

  /** An int64 vector constant (axes, starts, ends of Unsqueeze and Slice). */
  int64s(values: readonly number[]): string {
    const name = this.fresh("ints");
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer),
    });
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(
    op: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
  ): string {
    const output = this.fresh(op.toLowerCase());
    this.nodes.push({
      opType: op,
      name: output,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([name, v]) => attribute(name, v)),
    });
    return output;
  }

  output(name: string, shape: readonly number[]): void {
    this.outputs.push({ name, shape });
  }

  /** The serialized ModelProto. */
  encode(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: "colt",
      opsetImport: [{ domain: "", version: OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.nextId++}`;
  }
}

function attribute(name: string, v: AttributeValue): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof v === "number") return { name, type: AttributeType.INT, i: v };
  if ("float" in v) return { name, type: AttributeType.FLOAT, f: v.float };
  return { name, type: AttributeType.INTS, ints: [...v] };
}

function valueInfo(t: ValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: t.shape.map((d) => ({ dimValue: d })) },
      },
    },
  };
}
