/**
 * Every workload's ONNX graph, run in the real ONNX Runtime (CPU provider, worker process
 * pinned like a COLT measurement), computes what COLT's reference computes; a graph that
 * computes something else is refused.
 */
import { describe, expect, it } from "vitest";
import { checkOrtOutput, OrtMismatchError } from "../../src/compare/check.ts";
import { runOrt } from "../../src/compare/ort-run.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { referenceOutput } from "../../src/measure/evaluate.ts";
import type { OnnxGraphDef } from "../../src/onnx/graph-def.ts";
import { onnxGraphOf } from "../../src/onnx/graphs.ts";
import { buildOnnxModel } from "../../src/onnx/model.ts";
import { instantiate, listWorkloads } from "../../src/workloads/registry.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const opts = freshEvalOptions();
const cpus = new MeasurementEngine(opts).pinnedCpus();

async function ortAgainstReference(
  workload: string,
  shape: Record<string, number>,
  graph: OnnxGraphDef = onnxGraphOf(workload),
): Promise<number> {
  const program = instantiate(workload, "small", shape);
  const [reference, run] = await Promise.all([
    referenceOutput(program, opts),
    runOrt(buildOnnxModel(program, graph, 1), { workload, threads: 1, cpus, seed: 1, minMs: 1 }),
  ]);
  expect(run.times.length).toBeGreaterThanOrEqual(3);
  return checkOrtOutput(workload, run.output, reference);
}

const CASES: [string, Record<string, number>][] = [
  ...listWorkloads().map((w): [string, Record<string, number>] => [w.name, {}]),
  // Odd shapes: loop tails, stride with a ragged border, a prime sequence length.
  ["matmul", { M: 33, N: 17, K: 29 }],
  ["conv2d", { H: 11, W: 9, stride: 2, KH: 3, KW: 5 }],
  ["llama3-8b-attention", { G: 1, R: 3, S: 13, D: 8 }],
  ["deepseek-r1-moe", { T: 5, H: 24, E: 7, F: 11 }],
];

describe("ONNX graphs in ONNX Runtime", () => {
  it("match COLT's reference for every workload at small size and odd shapes", async () => {
    const errors = await inBatches(CASES, 2, ([w, shape]) => ortAgainstReference(w, shape));
    for (const [i, error] of errors.entries()) {
      expect(error, `${CASES[i][0]} ${JSON.stringify(CASES[i][1])}`).toBeLessThan(1e-5);
    }
  }, 300_000);

  it("refuses ONNX Runtime's output when the graph computes something else", async () => {
    // Softmax over the wrong axis: a plausible export mistake, same output shape.
    const columnSoftmax: OnnxGraphDef = {
      weights: [],
      addNodes: (g) => [g.node("Softmax", ["X"], { axis: 0 })],
    };
    const refused = ortAgainstReference("softmax", {}, columnSoftmax);
    await expect(refused).rejects.toBeInstanceOf(OrtMismatchError);
    await expect(refused).rejects.toThrow(/max absolute difference \d\.\d+e[-+]\d+/);
  });
});
