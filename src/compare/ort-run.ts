/** Runs an ONNX model in ONNX Runtime in a pinned child process: its outputs and its times. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { outputPath, parseTimes, readFloat32 } from "../measure/harness-output.ts";
import { withHugePages } from "../measure/huge-pages.ts";
import { runBinary } from "../measure/run.ts";
import type { OnnxModel } from "../onnx/model.ts";
import type { OrtJob } from "./ort-job.ts";

/**
 * The worker sits beside this module: its TypeScript source, which the child loads through
 * tsx, where this module runs from the sources; the bundled worker beside the CLI's bundle
 * (bin/bundle.js), which runs as it is.
 */
const FROM_SOURCES = import.meta.url.endsWith(".ts");
const WORKER = fileURLToPath(
  new URL(FROM_SOURCES ? "./ort-worker.ts" : "./ort-worker.mjs", import.meta.url),
);
const LOADER = FROM_SOURCES
  ? ["--import", pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm")).href]
  : [];

export class OrtRunError extends Error {
  constructor(
    readonly workload: string,
    readonly detail: string,
  ) {
    super(`ONNX Runtime failed on ${workload}: ${detail}`);
    this.name = "OrtRunError";
  }
}

export interface OrtRunOptions {
  readonly workload: string;
  readonly threads: number;
  /** CPU list for taskset: the cores COLT's measurement is pinned to. */
  readonly cpus: string;
  readonly seed: number;
  readonly minMs: number;
  readonly warmup?: number;
  readonly timeoutMs?: number;
}

export interface OrtRun {
  /** The outputs of the first run, concatenated in the program's output order. */
  readonly output: Float32Array;
  readonly times: readonly number[];
}

export async function runOrt(model: OnnxModel, o: OrtRunOptions): Promise<OrtRun> {
  const dir = mkdtempSync(join(tmpdir(), "colt-ort-"));
  const outFile = outputPath();
  try {
    const job: OrtJob = {
      modelFile: join(dir, "model.onnx"),
      feeds: model.feeds,
      outputs: model.outputs,
      seed: o.seed,
      threads: o.threads,
      warmup: o.warmup ?? 1,
      minMs: o.minMs,
      outFile,
    };
    writeFileSync(job.modelFile, model.bytes);
    const jobFile = join(dir, "job.json");
    writeFileSync(jobFile, JSON.stringify(job));
    const timeoutMs = o.timeoutMs ?? 600_000;
    const r = await runBinary(process.execPath, [...LOADER, WORKER, jobFile], {
      timeoutMs,
      cpus: o.cpus,
      env: withHugePages(),
    });
    if (r.timedOut) throw new OrtRunError(o.workload, `no result within ${timeoutMs} ms`);
    if (r.signal) throw new OrtRunError(o.workload, `killed by ${r.signal}`);
    if (r.code !== 0) {
      throw new OrtRunError(o.workload, `exit code ${r.code}: ${r.stderr.trim().slice(0, 500)}`);
    }
    const times = parseTimes(r.stdout);
    if (!times) throw new OrtRunError(o.workload, "the worker printed no times");
    return { output: readFloat32(outFile), times };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outFile, { force: true });
  }
}
