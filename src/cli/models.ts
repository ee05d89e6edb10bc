/**
 * The models of a `colt tune` run: the LLM bucket of `--models` (live, recorded into the
 * run directory) or of a recorded run (`--replay`), and what the command reports about
 * them. Failures are reported once per model and kind (the rest are counted in the
 * statistics), with messages that never hold a key.
 */
import { loadBucketFile, type Bucket } from "../models/bucket.ts";
import type { BuiltBucket } from "../models/llm/build.ts";
import type { LlmCallError } from "../models/llm/errors.ts";
import type { ReplayLibrary } from "../models/llm/replay.ts";
import type { Proposer } from "../search/proposer.ts";
import type { RecordedRun } from "./recorded-run.ts";

export interface LlmReport {
  /** Exchanges recorded into the run directory (0 without --out). */
  readonly recorded: number;
  readonly replay?: {
    readonly from: string;
    readonly measurements: "replayed" | "re-measured";
    /** Requests answered from the records. */
    readonly found: number;
    /** Requests not in the records (counted as model errors when re-measuring). */
    readonly missing: number;
    /** Records no request asked for. */
    readonly unused: number;
  };
}

export interface OpenedModels {
  readonly bucket: Bucket;
  readonly proposers: Proposer[];
  report(): LlmReport;
}

export interface OpenModelsOptions {
  readonly bucketFile?: string;
  readonly replay?: RecordedRun;
  /** With replay: measure again (misses are counted) instead of replaying measurements. */
  readonly remeasure: boolean;
  readonly seed: number;
  /** The records file to write, when the run has a directory. */
  readonly recordTo?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly warn: (line: string) => void;
}

/**
 * The LLM proposers of the run, or undefined for the built-in offline bucket. The LLM
 * layer (the AI SDK) loads only here: half a second that offline runs need not wait.
 */
export async function openModels(o: OpenModelsOptions): Promise<OpenedModels | undefined> {
  const reported = new Set<string>();
  const onFailure = (e: LlmCallError) => {
    const key = `${e.model}\u0000${e.kind}`;
    if (reported.has(key)) return;
    reported.add(key);
    o.warn(`${e.message} (later ${e.kind} failures of ${e.model} are counted, not shown)`);
  };
  const onBench = (e: { model: string; failures: number; until: number }) =>
    o.warn(
      `model ${e.model}: benched after ${e.failures} failed calls in a row, until model call ${e.until}`,
    );
  let bucket: Bucket;
  let built: BuiltBucket;
  let library: ReplayLibrary | undefined;
  if (o.replay) {
    const [{ buildBucket }, { ReplayLibrary }] = await Promise.all([
      import("../models/llm/build.ts"),
      import("../models/llm/replay.ts"),
    ]);
    bucket = o.replay.bucket;
    library = new ReplayLibrary(o.replay.records);
    built = buildBucket(bucket, {
      mode: { kind: "replay", library, strict: !o.remeasure },
      recordTo: o.recordTo,
      onFailure,
      onBench,
    });
  } else if (o.bucketFile) {
    const { buildBucket } = await import("../models/llm/build.ts");
    bucket = loadBucketFile(o.bucketFile);
    built = buildBucket(bucket, {
      mode: { kind: "live", env: o.env, seed: o.seed },
      recordTo: o.recordTo,
      onFailure,
      onBench,
    });
  } else {
    return undefined;
  }
  const replay = o.replay;
  return {
    bucket,
    proposers: built.proposers,
    report: () => ({
      recorded: built.recorder?.count ?? 0,
      ...(replay && library
        ? {
            replay: {
              from: replay.dir,
              measurements: o.remeasure ? "re-measured" : "replayed",
              found: library.found,
              missing: library.missing,
              unused: library.unused,
            },
          }
        : {}),
    }),
  };
}
