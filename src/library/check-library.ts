/**
 * Builds a model's library with its one cc line and checks it end to end: the runner on
 * seeded inputs against ONNX Runtime on the whole model, same inputs, cores and threads;
 * both timed.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { runOrt } from "../compare/ort-run.ts";
import { checkOrtOutput } from "../compare/check.ts";
import type { Compiler } from "../measure/compiler.ts";
import { parseTimes, readFloat32 } from "../measure/harness-output.ts";
import { runBinary } from "../measure/run.ts";
import { median } from "../measure/stats.ts";
import { seededInput } from "../ir/random-inputs.ts";
import type { OnnxModel } from "../onnx/model.ts";
import { LibraryError } from "./errors.ts";
import { BUILD_LINE } from "./main-source.ts";
import type { EndToEnd } from "./model-report.ts";
import type { LibraryPlan } from "./plan.ts";
import { RUNNER, WEIGHTS_FILE } from "./write-library.ts";

export interface CheckSettings {
  readonly compiler: Compiler;
  readonly threads: number;
  /** The cores both sides run on (a taskset list). */
  readonly cpus: string;
  readonly seed: number;
  readonly minMs: number;
}

/** Runs README.txt's build line in `dir`, with the detected compiler in place of `cc`. */
export function buildLibrary(dir: string, file: string, compiler: Compiler): string {
  const [, ...flags] = BUILD_LINE.split(" ");
  const r = spawnSync(compiler.argv[0], [...compiler.argv.slice(1), ...flags], {
    cwd: dir,
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new LibraryError(file, "build", (r.stderr || r.error?.message || "").slice(0, 2000));
  return join(dir, RUNNER);
}

/** The whole model as ONNX Runtime runs it: the original file, inputs seeded as the runner's. */
export function wholeModel(file: string, plan: LibraryPlan): OnnxModel {
  return {
    bytes: readFileSync(file),
    feeds: plan.inputs.map((t, inputIndex) => ({ name: t.value, shape: t.shape, inputIndex })),
    outputs: plan.outputs.map((o) => o.value),
  };
}

function littleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return bytes;
}

/** Times the built runner on seeded inputs; its outputs, concatenated in graph order. */
export async function runLibrary(
  dir: string,
  file: string,
  plan: LibraryPlan,
  s: CheckSettings,
): Promise<{ output: Float32Array; ms: number }> {
  const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);
  const ins = plan.inputs.map((t, i) => {
    const path = join(dir, `in${i}.bin`);
    writeFileSync(path, littleEndian(seededInput(s.seed, i, size(t.shape))));
    return path;
  });
  const outs = plan.outputs.map((_, i) => join(dir, `out${i}.bin`));
  try {
    const r = await runBinary(
      join(dir, RUNNER),
      ["--time", String(s.minMs), join(dir, WEIGHTS_FILE), ...ins, ...outs],
      {
        timeoutMs: 600_000,
        cpus: s.cpus,
        env: {
          ...process.env,
          OMP_NUM_THREADS: String(s.threads),
          OMP_PROC_BIND: "close",
          OMP_WAIT_POLICY: "active",
        },
      },
    );
    const times = r.code === 0 ? parseTimes(r.stdout) : undefined;
    if (!times)
      throw new LibraryError(
        file,
        "run",
        `exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`,
      );
    const parts = outs.map(readFloat32);
    const output = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      output.set(p, at);
      at += p.length;
    }
    return { output, ms: median(times) };
  } finally {
    for (const f of [...ins, ...outs]) rmSync(f, { force: true });
  }
}

/** The library against ONNX Runtime on the whole model: a LibraryError when they differ. */
export async function checkLibrary(
  dir: string,
  file: string,
  plan: LibraryPlan,
  s: CheckSettings,
): Promise<EndToEnd> {
  const colt = await runLibrary(dir, file, plan, s);
  const ort = await runOrt(wholeModel(file, plan), {
    workload: file,
    threads: s.threads,
    cpus: s.cpus,
    seed: s.seed,
    minMs: s.minMs,
  });
  let error: number;
  try {
    error = checkOrtOutput(file, colt.output, ort.output);
  } catch (e) {
    throw new LibraryError(file, "check", (e as Error).message);
  }
  return { coltMs: colt.ms, ortMs: median(ort.times), error };
}
