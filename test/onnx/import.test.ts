/**
 * `colt import`'s engine on models built in code: every task of a GPT-2-style block, a
 * Llama-style block and a small CNN is lowered, run in the TypeScript interpreter, and
 * checked against ONNX Runtime on the same subgraph (same seeded inputs); the C of each
 * unscheduled task program matches the interpreter.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkOrtOutput } from "../../src/compare/check.ts";
import { runOrt } from "../../src/compare/ort-run.ts";
import { interpret } from "../../src/ir/interpret.ts";
import { MeasurementEngine } from "../../src/measure/engine.ts";
import { referenceOutput } from "../../src/measure/evaluate.ts";
import { relativeL2Error } from "../../src/measure/verify.ts";
import {
  importModel,
  type ImportedModel,
  type ImportedTask,
} from "../../src/onnx/import/import-model.ts";
import { taskSubgraph } from "../../src/onnx/import/subgraph.ts";
import { gpt2Block, llamaBlock, operatorZoo, smallCnn } from "../support/onnx-models.ts";
import { freshEvalOptions, inBatches } from "../support/toolchain.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-import-"));
const opts = freshEvalOptions();
const cpus = new MeasurementEngine(opts).pinnedCpus();

function interpreted(task: ImportedTask): Float32Array {
  const out = interpret(task.program, 1);
  const parts = task.program.outputs.map((o) => out.get(o) ?? new Float32Array());
  const joined = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return joined;
}

async function checkEveryTask(model: ImportedModel): Promise<void> {
  await inBatches(model.tasks, 2, async (task) => {
    const expected = interpreted(task);
    const [ort, compiled] = await Promise.all([
      runOrt(taskSubgraph(model, task), {
        workload: task.name,
        threads: 1,
        cpus,
        seed: 1,
        minMs: 1,
      }),
      referenceOutput(task.program, opts),
    ]);
    expect(checkOrtOutput(task.name, ort.output, expected), task.name).toBeLessThan(1e-5);
    expect(relativeL2Error(compiled, expected), task.name).toBeLessThan(1e-5);
  });
}

const summary = (m: ImportedModel) =>
  m.tasks.map((t) => `${t.name}${t.sameAs ? `=${t.sameAs}` : ""}`);

describe("importing ONNX models", () => {
  it("GPT-2-style block: norms, fused QKV Gemm + Split, one attention task, GELU MLP with residual", async () => {
    const model = importModel(gpt2Block(join(dir, "gpt2.onnx")));
    expect(summary(model)).toEqual([
      "layernorm-1",
      "gemm-1",
      "attention-1",
      "gemm-2",
      "layernorm-2=layernorm-1",
      "matmul-1",
      "matmul-2",
    ]);
    const attention = model.tasks[2];
    // The head split and transposes are index expressions: no copy stage.
    expect(attention.program.stages.map((s) => s.name)).toEqual([
      "matmul0",
      "softmax_max0",
      "softmax_sum0",
      "softmax0",
      "matmul1",
    ]);
    expect(attention.nodes.map((n) => n.op)).toContain("Split");
    expect(model.tasks[5].nodes.map((n) => n.op)).toEqual([
      "MatMul",
      "Add",
      "Div",
      "Erf",
      "Mul",
      "Add",
      "Mul",
    ]);
    await checkEveryTask(model);
  }, 240_000);

  it("Llama-style block: written-out RMSNorm, grouped-query attention with Expand, SwiGLU", async () => {
    const model = importModel(llamaBlock(join(dir, "llama.onnx")));
    expect(summary(model)).toEqual([
      "rmsnorm-1",
      "matmul-1",
      "matmul-2",
      "matmul-3=matmul-2",
      "attention-1",
      "matmul-4",
      "rmsnorm-2=rmsnorm-1",
      "matmul-5",
      "matmul-6",
      "matmul-7",
    ]);
    expect(model.tasks[0].nodes.map((n) => n.op)).toEqual([
      "Pow",
      "ReduceMean",
      "Add",
      "Sqrt",
      "Div",
      "Mul",
    ]);
    expect(model.tasks[4].nodes.map((n) => n.op)).toContain("Expand");
    await checkEveryTask(model);
  }, 240_000);

  it("small CNN: padded and strided Conv with bias and Relu, pooling, Flatten, Gemm, Softmax", async () => {
    const model = importModel(smallCnn(join(dir, "cnn.onnx")));
    expect(summary(model)).toEqual([
      "conv-1",
      "conv-2",
      "maxpool-1",
      "avgpool-1",
      "gemm-1",
      "softmax-1",
    ]);
    await checkEveryTask(model);
  }, 240_000);

  it("the other operators: Constant, Slice, Concat, Split, Squeeze, Gelu, Gemm with transA, pooling...", async () => {
    const model = importModel(operatorZoo(join(dir, "zoo.onnx")));
    expect(summary(model)).toEqual([
      "reduce-1",
      "reduce-2",
      "gemm-1",
      "avgpool-1",
      "elementwise-1",
    ]);
    await checkEveryTask(model);
  }, 240_000);
});
