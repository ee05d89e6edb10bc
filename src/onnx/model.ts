/**
 * The ONNX model of a workload instance: its graph, weights filled with the same seeded
 * data COLT's harness generates, and the activations to feed (by the same rule).
 */
import { tensorShape, type Program } from "../ir/program.ts";
import { seededInput } from "../ir/random-inputs.ts";
import { GraphBuilder } from "./graph-builder.ts";
import type { OnnxGraphDef } from "./graph-def.ts";

/** A graph input and the program input whose seeded data it takes. */
export interface OnnxFeed {
  readonly name: string;
  readonly shape: readonly number[];
  readonly inputIndex: number;
}

export interface OnnxModel {
  readonly bytes: Uint8Array;
  readonly feeds: readonly OnnxFeed[];
  /** Graph outputs, in the program's output order. */
  readonly outputs: readonly string[];
}

const elements = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

export function buildOnnxModel(program: Program, def: OnnxGraphDef, seed: number): OnnxModel {
  const g = new GraphBuilder(program.name);
  const feeds: OnnxFeed[] = [];
  program.inputs.forEach((t, inputIndex) => {
    if (def.weights.includes(t.name)) {
      g.weight(t.name, t.shape, seededInput(seed, inputIndex, elements(t.shape)));
    } else {
      feeds.push({ name: g.input(t.name, t.shape), shape: t.shape, inputIndex });
    }
  });
  const outputs = def.addNodes(g, program.params);
  outputs.forEach((name, i) => g.output(name, tensorShape(program, program.outputs[i])));
  return { bytes: g.encode(), feeds, outputs };
}
