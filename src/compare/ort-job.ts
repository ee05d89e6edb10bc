/** What the ONNX Runtime worker process is asked to do, written by the parent as JSON. */
import type { OnnxFeed } from "../onnx/model.ts";

export interface OrtJob {
  readonly modelFile: string;
  readonly feeds: readonly OnnxFeed[];
  readonly outputs: readonly string[];
  /** Seed of the activations fed to the graph (the same rule as COLT's harness). */
  readonly seed: number;
  readonly threads: number;
  readonly warmup: number;
  readonly minMs: number;
  /** Where the worker writes the outputs of its first run, concatenated as raw fp32. */
  readonly outFile: string;
}
