/**
 * An imported model as one C library, without tuning (every kernel the unscheduled
 * program): written, built with README.txt's one cc line through the shell, run on
 * seeded inputs and compared with ONNX Runtime on the whole model.
 */
import { execSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkLibrary } from "../../src/library/check-library.ts";
import { BUILD_LINE } from "../../src/library/main-source.ts";
import { writeLibrary } from "../../src/library/write-library.ts";
import { alignUp } from "../../src/library/workspace.ts";
import { detectCompiler } from "../../src/measure/compiler.ts";
import { DEFAULT_TOLERANCE } from "../../src/measure/verify.ts";
import { importModel } from "../../src/onnx/import/import-model.ts";
import { gpt2Block, llamaBlock, smallCnn } from "../support/onnx-models.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-library-"));
const compiler = detectCompiler();

describe("the C library of an imported model", () => {
  for (const [name, build] of [
    ["GPT-2-style block", gpt2Block],
    ["Llama-style block", llamaBlock],
    ["small CNN", smallCnn],
  ] as const) {
    it(`${name}: builds with the README's cc line and matches ONNX Runtime end to end`, async () => {
      const file = (build as (f: string) => string)(join(dir, `${name.replace(/\W/g, "")}.onnx`));
      const model = importModel(file);
      const out = join(dir, name.replace(/\W/g, ""));
      const plan = writeLibrary(out, model, new Map());
      const readme = readFileSync(join(out, "README.txt"), "utf8");
      expect(readme).toContain(`\n${BUILD_LINE}\n`);
      expect(BUILD_LINE).toBe("cc -O3 -march=native -fopenmp model.c main.c -lm -o run");
      execSync(BUILD_LINE, { cwd: out, stdio: "pipe" });
      // Dead intermediates' slices are reused: less than one slice per intermediate.
      const intermediates = model.tasks
        .flatMap((t) => t.outputs)
        .filter((o) => !model.graph.graph.outputs.includes(o.value))
        .reduce(
          (n, o) => n + alignUp((model.graph.shapes.get(o.value) ?? []).reduce((a, d) => a * d, 1)),
          0,
        );
      expect(plan.workFloats).toBeLessThan(intermediates);
      // The weights file holds every weight the tasks read, 64-byte aligned.
      expect(statSync(join(out, "model.weights")).size).toBe(plan.weightFloats * 4);
      const source = readFileSync(join(out, "model.c"), "utf8");
      const distinct = model.tasks.filter((t) => t.sameAs === undefined).length;
      expect(source.match(/^void colt_t\d+_kernel\(/gm)).toHaveLength(distinct);
      expect(source.match(/^ {2}colt_t\d+_kernel\(/gm)).toHaveLength(model.tasks.length);
      const e = await checkLibrary(out, file, plan, {
        compiler,
        threads: 1,
        cpus: "0",
        seed: 3,
        minMs: 1,
      });
      expect(e.error).toBeLessThanOrEqual(DEFAULT_TOLERANCE);
      expect(e.coltMs).toBeGreaterThan(0);
    }, 60_000);
  }

  it("re-lays a prepared weight at load, once per task that reads it, and still matches ONNX Runtime", async () => {
    const file = llamaBlock(join(dir, "prepared.onnx"));
    const model = importModel(file);
    // matmul-3 is matmul-2 on other weights: one kernel, two prepared blocks.
    expect(model.tasks.find((t) => t.name === "matmul-3")?.sameAs).toBe("matmul-2");
    const trace = [
      "split matmul0.k 4 -> kc k1",
      "split matmul0.i2 2 -> jo jl",
      "reorder matmul0 i0 kc jo i1 k1 jl",
      "prepare in1 in matmul0",
    ].join("\n");
    const out = join(dir, "prepared");
    const plan = writeLibrary(out, model, new Map([["matmul-2", trace]]));
    expect(plan.preparedBlocks).toBe(2);
    expect(readFileSync(join(out, "model.c"), "utf8")).toMatch(
      /colt_t\d+_prepare\(colt_weights \+ \d+, colt_prepared\[1\]\);/,
    );
    execSync(BUILD_LINE, { cwd: out, stdio: "pipe" });
    const e = await checkLibrary(out, file, plan, {
      compiler,
      threads: 1,
      cpus: "0",
      seed: 5,
      minMs: 1,
    });
    expect(e.error).toBeLessThanOrEqual(DEFAULT_TOLERANCE);
  }, 60_000);

  it("model.h documents load, run and free, with inputs and outputs in graph order", () => {
    const file = gpt2Block(join(dir, "header.onnx"));
    const out = join(dir, "header");
    writeLibrary(out, importModel(file), new Map());
    const h = readFileSync(join(out, "model.h"), "utf8");
    expect(h).toContain("int colt_model_load(const char *weights_path);");
    expect(h).toContain(
      "void colt_model_run(const float *const inputs[], float *const outputs[]);",
    );
    expect(h).toContain("void colt_model_free(void);");
    expect(h).toMatch(/Inputs, in graph order:\n \* {3}0: x \[1\]\[7\]\[12\] \(84 floats\)/);
  });
});
