/**
 * Reads an ONNX file with onnx-proto and checks what the importer needs before any work:
 * opset 13-20, float32 activations and weights (int64 only for shapes and axes), and
 * static shapes, symbolic dimensions fixed by the caller's `dims`.
 */
import { readFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import { OnnxReadError, UnsupportedModelError, type Refusal } from "./errors.ts";

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

export const MIN_OPSET = 13;
export const MAX_OPSET = 20;

type Int = number | { toNumber(): number };
const toInt = (v: Int | null | undefined): number =>
  v === null || v === undefined ? 0 : typeof v === "number" ? v : v.toNumber();

/** A constant tensor: float32 data, or int64 values (shapes, axes, starts and ends). */
export interface ConstTensor {
  readonly dims: readonly number[];
  readonly floats?: Float32Array;
  readonly ints?: readonly number[];
}

export type AttrValue =
  | { readonly k: "int"; readonly v: number }
  | { readonly k: "float"; readonly v: number }
  | { readonly k: "ints"; readonly v: readonly number[] }
  | { readonly k: "string"; readonly v: string }
  | { readonly k: "tensor"; readonly v: ConstTensor };

export interface OnnxNode {
  readonly name: string;
  readonly op: string;
  /** "" marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
  readonly proto: onnxProto.onnx.INodeProto;
}

export interface OnnxGraph {
  readonly file: string;
  readonly opset: number;
  /** The symbolic dimensions the caller fixed. */
  readonly dims: Readonly<Record<string, number>>;
  /** Graph inputs that are not initializers, with their static shapes. */
  readonly inputs: ReadonlyMap<string, readonly number[]>;
  readonly outputs: readonly string[];
  readonly initializers: ReadonlyMap<string, ConstTensor>;
  readonly initializerProtos: ReadonlyMap<string, onnxProto.onnx.ITensorProto>;
  /** In the file's order, which ONNX requires to be topological. */
  readonly nodes: readonly OnnxNode[];
}

export function readOnnxGraph(file: string, dims: Readonly<Record<string, number>>): OnnxGraph {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new OnnxReadError(file, `cannot read the file (${(e as Error).message})`);
  }
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxReadError(file, `not an ONNX model (${(e as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new OnnxReadError(file, "the model has no graph");
  const refusals: Refusal[] = [];
  const opset = model.opsetImport.find((o) => !o.domain || o.domain === "ai.onnx");
  const version = toInt(opset?.version);
  if (version < MIN_OPSET || version > MAX_OPSET) {
    refusals.push({
      node: graph.name || "model",
      op: "opset",
      reason: `opset ${version} is not supported (opsets ${MIN_OPSET}-${MAX_OPSET})`,
    });
  }
  const initializers = new Map<string, ConstTensor>();
  const initializerProtos = new Map<string, onnxProto.onnx.ITensorProto>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? "";
    const tensor = constTensor(t);
    if (typeof tensor === "string")
      refusals.push({ node: name, op: "initializer", reason: tensor });
    else initializers.set(name, tensor);
    initializerProtos.set(name, t);
  }
  const inputs = new Map<string, readonly number[]>();
  for (const v of graph.input ?? []) {
    const name = v.name ?? "";
    if (initializerProtos.has(name)) continue;
    const tensorType = v.type?.tensorType;
    if (tensorType?.elemType !== DataType.FLOAT) {
      refusals.push({
        node: name,
        op: "input",
        reason: `data type ${typeName(tensorType?.elemType)} is not supported (float32 only)`,
      });
      continue;
    }
    const shape: number[] = [];
    for (const d of tensorType.shape?.dim ?? []) {
      const value = toInt(d.dimValue);
      if (value > 0) shape.push(value);
      else if (d.dimParam && dims[d.dimParam] !== undefined) shape.push(dims[d.dimParam]);
      else {
        const what = d.dimParam ? `'${d.dimParam}'` : "unnamed";
        refusals.push({
          node: name,
          op: "input",
          reason: `dynamic dimension ${what}; give it a value: --dim ${d.dimParam || "NAME"}=N with colt import, --shape ${d.dimParam || "NAME"}=N with model.onnx#task`,
        });
      }
    }
    inputs.set(name, shape);
  }
  const symbolic = new Set(
    (graph.input ?? []).flatMap((v) =>
      (v.type?.tensorType?.shape?.dim ?? []).flatMap((d) => (d.dimParam ? [d.dimParam] : [])),
    ),
  );
  for (const name of Object.keys(dims)) {
    if (!symbolic.has(name)) {
      const known = symbolic.size > 0 ? [...symbolic].join(", ") : "none";
      throw new OnnxReadError(
        file,
        `the model has no symbolic dimension '${name}' (its symbolic dimensions: ${known})`,
      );
    }
  }
  const nodes = (graph.node ?? []).map((n, i): OnnxNode => {
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute ?? []) {
      const value = attrValue(a);
      if (value) attrs.set(a.name ?? "", value);
    }
    return {
      name: n.name || `${n.opType}_${i}`,
      op: n.opType ?? "",
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attrs,
      proto: n,
    };
  });
  if (refusals.length > 0) throw new UnsupportedModelError(file, refusals);
  return {
    file,
    opset: version,
    dims,
    inputs,
    outputs: (graph.output ?? []).map((o) => o.name ?? ""),
    initializers,
    initializerProtos,
    nodes,
  };
}

function typeName(t: number | null | undefined): string {
  return (t !== null && t !== undefined && DataType[t]?.toLowerCase()) || "undefined";
}

/** The tensor, or why it is refused. */
export function constTensor(t: onnxProto.onnx.ITensorProto): ConstTensor | string {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
    return "external data is not supported";
  const dims = (t.dims ?? []).map(toInt);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  if (t.dataType === DataType.FLOAT) {
    const floats = raw
      ? new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))
      : Float32Array.from(t.floatData ?? []);
    return { dims, floats };
  }
  if (t.dataType === DataType.INT64) {
    const ints = raw
      ? Array.from(
          new BigInt64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)),
          Number,
        )
      : (t.int64Data ?? []).map(toInt);
    return { dims, ints };
  }
  return `data type ${typeName(t.dataType)} is not supported (float32, and int64 for shapes)`;
}

function attrValue(a: onnxProto.onnx.IAttributeProto): AttrValue | undefined {
  switch (a.type) {
    case AttributeType.INT:
      return { k: "int", v: toInt(a.i) };
    case AttributeType.FLOAT:
      return { k: "float", v: a.f ?? 0 };
    case AttributeType.INTS:
      return { k: "ints", v: (a.ints ?? []).map(toInt) };
    case AttributeType.STRING:
      return { k: "string", v: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case AttributeType.TENSOR: {
      const t = a.t ? constTensor(a.t) : "missing tensor";
      return typeof t === "string" ? undefined : { k: "tensor", v: t };
    }
    default:
      return undefined;
  }
}

export const intAttr = (n: OnnxNode, name: string, fallback: number): number => {
  const a = n.attrs.get(name);
  return a?.k === "int" ? a.v : fallback;
};
export const floatAttr = (n: OnnxNode, name: string, fallback: number): number => {
  const a = n.attrs.get(name);
  return a?.k === "float" ? a.v : fallback;
};
export const intsAttr = (n: OnnxNode, name: string): readonly number[] | undefined => {
  const a = n.attrs.get(name);
  return a?.k === "ints" ? a.v : undefined;
};
export const stringAttr = (n: OnnxNode, name: string, fallback: string): string => {
  const a = n.attrs.get(name);
  return a?.k === "string" ? a.v : fallback;
};
