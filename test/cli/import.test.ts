/** `colt import` and `model.onnx#task` in the other commands, run as the real CLI. */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colt } from "../support/cli.ts";
import { gpt2Block, smallCnn, TestGraph } from "../support/onnx-models.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-import-cli-"));
const env = {
  COLT_CACHE_DIR: calibratedCacheDir("colt-import-cli-cache-"),
  COLT_DB: join(dir, "colt.db"),
};
const gpt2 = gpt2Block(join(dir, "gpt2.onnx"));

interface ImportJson {
  tasks: {
    name: string;
    kind: string;
    nodes: string[];
    flops: number;
    share: number;
    sameAs?: string;
  }[];
  unsupported: { node: string; op: string; reason: string }[];
}

/** A MatMul model whose batch dimension is symbolic. */
function dynamicModel(): string {
  const g = new TestGraph();
  const x = g.input("x", ["batch", 5]);
  g.output(g.op("MatMul", [x, g.weight([5, 3])]));
  return g.write(join(dir, "dynamic.onnx"));
}

function expectOneLineRefusal(r: { code: number | null; stderr: string }): void {
  expect(r.code).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^colt: /);
  expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
}

describe("colt import", () => {
  it("prints the task table: kinds, nodes, shapes, FLOPs and share; identical tasks marked", () => {
    const r = colt(["import", gpt2], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/7 tasks \(6 to tune\)/);
    expect(r.stdout).toMatch(
      /^attention-1\s+attention\s+12 \(Split Reshape Transpose MatMul Div Add Softmax\)\s+\[7,36\] \[1,1,7,7\] -> \[1,3,7,4\]/m,
    );
    expect(r.stdout).toMatch(/^layernorm-2 .* same as layernorm-1$/m);
  });

  it("--json: tasks with name, kind, nodes and flops, and an empty unsupported list", () => {
    const r = colt(["import", smallCnn(join(dir, "cnn.onnx")), "--json"], env);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as ImportJson;
    expect(out.unsupported).toEqual([]);
    expect(out.tasks.map((t) => t.kind)).toEqual([
      "conv",
      "conv",
      "maxpool",
      "avgpool",
      "gemm",
      "softmax",
    ]);
    for (const t of out.tasks) {
      expect(t.nodes.length).toBeGreaterThan(0);
      expect(t.flops).toBeGreaterThan(0);
    }
    expect(out.tasks.reduce((s, t) => s + t.share, 0)).toBeCloseTo(1, 9);
  });

  it("refuses unsupported operators, listing every offending node, before any work", () => {
    const g = new TestGraph();
    const x = g.input("x", [4, 6]);
    const picked = g.node("TopK", [x, g.ints([2])], { axis: 1 }, 2)[0];
    const y = g.op("Where", [picked, picked, picked]);
    g.output(g.op("Relu", [y]));
    const file = g.write(join(dir, "unsupported.onnx"));
    const r = colt(["import", file], env);
    expectOneLineRefusal(r);
    expect(r.stderr).toMatch(
      /cannot import 2 nodes: TopK_\d+ \(TopK\): operator not supported; Where_\d+ \(Where\): operator not supported/,
    );
    const json = colt(["import", file, "--json"], env);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as ImportJson).unsupported.map((u) => u.op)).toEqual([
      "TopK",
      "Where",
    ]);
  });

  it("refuses a dynamic dimension without --dim, and imports it with one", () => {
    const file = dynamicModel();
    const r = colt(["import", file], env);
    expectOneLineRefusal(r);
    expect(r.stderr).toContain(
      "x (input): dynamic dimension 'batch'; give it a value: --dim batch=N",
    );
    const fixed = colt(["import", file, "--dim", "batch=3", "--json"], env);
    expect(fixed.code).toBe(0);
    expect((JSON.parse(fixed.stdout) as ImportJson).tasks[0].flops).toBe(3 * 3 * 5 * 2);
    expectOneLineRefusal(colt(["show", `${file}#matmul-1`], env));
    const shown = colt(["show", `${file}#matmul-1`, "--shape", "batch=3"], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("input in0: float32[3, 5]");
    const measured = colt(
      ["measure", `${file}#matmul-1`, "--shape", "batch=3", "--min-ms", "1"],
      env,
    );
    expect(measured.stdout).toMatch(/#matmul-1 \(batch=3\), 90 FLOP/);
    const unknown = colt(["import", file, "--dim", "seq=3"], env);
    expectOneLineRefusal(unknown);
    expect(unknown.stderr).toContain(
      "the model has no symbolic dimension 'seq' (its symbolic dimensions: batch)",
    );
  });

  it("refuses an int8 model", () => {
    const g = new TestGraph();
    const x = g.input("x", [2, 3]);
    g.output(g.op("MatMul", [x, g.int8s([3, 4])]));
    const r = colt(["import", g.write(join(dir, "int8.onnx"))], env);
    expectOneLineRefusal(r);
    expect(r.stderr).toMatch(/w_\d+ \(initializer\): data type int8 is not supported/);
  });

  it("refuses an opset outside 13-20, a file that is not ONNX and a missing file", () => {
    const g = new TestGraph(11);
    g.output(g.op("Relu", [g.input("x", [2])]));
    expectOneLineRefusal(colt(["import", g.write(join(dir, "old.onnx"))], env));
    const notOnnx = join(dir, "notes.onnx");
    writeFileSync(notOnnx, "these are notes, not a model\n");
    const r = colt(["import", notOnnx], env);
    expectOneLineRefusal(r);
    expect(r.stderr).toContain(`colt: ${notOnnx}: `);
    expectOneLineRefusal(colt(["import", join(dir, "missing.onnx")], env));
  });
});

describe("model.onnx#task in the other commands", () => {
  it("colt measure builds, verifies and times an imported task", () => {
    const r = colt(["measure", `${gpt2}#attention-1`, "--json", "--min-ms", "1"], env);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { status: string; verified: boolean; workload: string };
    expect(out).toMatchObject({ status: "ok", verified: true, workload: `${gpt2}#attention-1` });
  });

  it("colt tune searches an imported task; compare runs its subgraph in ONNX Runtime; best, export", () => {
    const tuned = colt(["tune", `${gpt2}#matmul-1`, "--trials", "3", "--json"], env);
    expect(tuned.stderr).toBe("");
    const run = JSON.parse(tuned.stdout) as { workload: string; verified: boolean; trials: number };
    expect(run).toMatchObject({ workload: `${gpt2}#matmul-1`, verified: true, trials: 3 });
    const compared = colt(["compare", `${gpt2}#matmul-1`, "--json", "--min-ms", "1"], env);
    expect(compared.stderr).toBe("");
    const result = JSON.parse(compared.stdout) as { ort: { error: number } };
    expect(result.ort.error).toBeLessThan(1e-5);
    const best = colt(["best", `${gpt2}#matmul-1`], env);
    expect(best.stdout).toContain(`# ${gpt2}#matmul-1`);
    const out = join(dir, "export");
    const exported = colt(["export", `${gpt2}#matmul-1`, "--out", out], env);
    expect(exported.stderr).toBe("");
    expect(existsSync(join(out, "colt_gpt2_onnx_matmul_1.c"))).toBe(true);
  });

  it("an unknown task names the model's tasks", () => {
    const r = colt(["show", `${gpt2}#attention-9`], env);
    expectOneLineRefusal(r);
    expect(r.stderr).toContain(
      "has no task 'attention-9'; its tasks are layernorm-1, gemm-1, attention-1",
    );
  });
});
