/**
 * A bucket becomes proposers: per model, an exchange (live through the provider, or
 * replayed from records), recording when a run directory is given, the LLM proposer, and
 * the benching wrapper. Keys are read here, from the variables the bucket names, and
 * given only to the provider client and the redactor.
 */
import {
  resolveApiKeys,
  sizeOf,
  usesStructuredOutput,
  type Bucket,
  type ModelSpec,
} from "../bucket.ts";
import type { ModelInfo, Proposal, ProposalContext, Proposer } from "../../search/proposer.ts";
import { BenchBoard, BenchingProposer, type BenchEvent } from "./bench.ts";
import { LlmCallError } from "./errors.ts";
import { LiveExchange, type Exchange, type LiveExchangeOptions } from "./exchange.ts";
import { LlmProposer } from "./proposer.ts";
import { endpointOf, languageModelFor } from "./provider.ts";
import { Recorder, RecordingExchange } from "./records.ts";
import { Redactor } from "./redact.ts";
import { ReplayExchange, type ReplayLibrary } from "./replay.ts";
import { SdkTransport } from "./transport.ts";
import { formatSize } from "./prompt.ts";

export interface LiveMode extends LiveExchangeOptions {
  readonly kind: "live";
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch?: typeof globalThis.fetch;
}

export interface ReplayMode {
  readonly kind: "replay";
  readonly library: ReplayLibrary;
  /** Stop at the first request not in the records (else: count it as the model's error). */
  readonly strict: boolean;
}

export interface BuildOptions {
  readonly mode: LiveMode | ReplayMode;
  /** Where to append a record of every exchange (llm-records.jsonl), if anywhere. */
  readonly recordTo?: string;
  /** Told about every failed call (message already free of keys) and every bench. */
  readonly onFailure?: (e: LlmCallError) => void;
  readonly onBench?: (e: BenchEvent) => void;
}

export interface BuiltBucket {
  readonly proposers: Proposer[];
  readonly redactor: Redactor;
  readonly recorder?: Recorder;
}

export function modelInfo(spec: ModelSpec): ModelInfo {
  const size =
    spec.params !== undefined
      ? `${formatSize(spec.params)} parameters`
      : `relative cost ${spec.relativeCost}`;
  return {
    name: spec.name,
    kind: "llm",
    size: sizeOf(spec),
    description:
      spec.description ?? `${spec.provider} ${spec.model} at ${endpointOf(spec)}, ${size}`,
  };
}

export function buildBucket(bucket: Bucket, options: BuildOptions): BuiltBucket {
  const mode = options.mode;
  const keys = mode.kind === "live" ? resolveApiKeys(bucket, mode.env) : new Map<string, string>();
  const redactor = new Redactor(keys.values());
  const recorder = options.recordTo ? new Recorder(options.recordTo, redactor) : undefined;
  const board = new BenchBoard(bucket.bench, options.onBench);
  const proposers = bucket.models.map((spec) => {
    const identity = { name: spec.name, provider: spec.provider, modelId: spec.model };
    let exchange: Exchange;
    if (mode.kind === "live") {
      const model = languageModelFor(spec, { apiKey: keys.get(spec.name), fetch: mode.fetch });
      const transport = new SdkTransport(
        model,
        {
          timeoutMs: spec.timeoutMs,
          maxOutputTokens: spec.maxOutputTokens,
          temperature: spec.temperature,
          structuredOutput: usesStructuredOutput(spec),
        },
        redactor,
      );
      exchange = new LiveExchange(spec, transport, mode);
    } else {
      exchange = new ReplayExchange(mode.library, identity, mode.strict);
    }
    if (recorder) exchange = new RecordingExchange(exchange, recorder, identity);
    const llm = new LlmProposer(modelInfo(spec), spec, exchange, {
      maxLegalMoves: bucket.prompt.maxLegalMoves,
      board,
    });
    return new ObservedProposer(new BenchingProposer(llm, board, spec.provider), options.onFailure);
  });
  return { proposers, redactor, ...(recorder ? { recorder } : {}) };
}

/** Reports each failed call to an observer (the CLI prints the first of each kind). */
class ObservedProposer implements Proposer {
  constructor(
    private readonly inner: Proposer,
    private readonly onFailure?: (e: LlmCallError) => void,
  ) {}

  get info() {
    return this.inner.info;
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    try {
      return await this.inner.propose(ctx);
    } catch (e) {
      if (e instanceof LlmCallError) this.onFailure?.(e);
      throw e;
    }
  }
}
