/**
 * An exchange turns a request into the model's reply text: live through the provider
 * (with retries) or from records (replay.ts). Recording wraps either. Failures come out
 * as LlmCallErrors that carry what the call cost. An answer over the size cap is cut
 * here, before anything records or reads it.
 */
import type { ModelSpec } from "../bucket.ts";
import { Random } from "../../util/random.ts";
import { capAnswer } from "./answer-cap.ts";
import { LlmCallError } from "./errors.ts";
import type { LlmRequest } from "./prompt.ts";
import {
  DEFAULT_RETRY,
  realSleep,
  RetryFailure,
  withRetries,
  type RetryPolicy,
  type Sleep,
} from "./retry.ts";
import type { SdkTransport } from "./transport.ts";

export interface ExchangeReply {
  readonly text: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** Wall time of the call, retries and waits included. */
  readonly latencyMs: number;
  readonly attempts: number;
  /** Set when the answer was over the size cap: its size; `text` then holds its start. */
  readonly truncatedBytes?: number;
}

export interface Exchange {
  send(request: LlmRequest): Promise<ExchangeReply>;
}

export interface LiveExchangeOptions {
  readonly retry?: Partial<Omit<RetryPolicy, "maxRetries">>;
  readonly seed: number;
  readonly sleep?: Sleep;
  readonly now?: () => number;
}

/** Calls the provider through the SDK, retrying transient failures. */
export class LiveExchange implements Exchange {
  private readonly random: Random;
  private readonly policy: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly now: () => number;

  constructor(
    private readonly spec: ModelSpec,
    private readonly transport: SdkTransport,
    options: LiveExchangeOptions,
  ) {
    this.random = new Random(options.seed ^ hashName(spec.name));
    this.policy = { ...DEFAULT_RETRY, ...options.retry, maxRetries: spec.maxRetries };
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? (() => performance.now());
  }

  async send(request: LlmRequest): Promise<ExchangeReply> {
    const start = this.now();
    try {
      const { value, attempts } = await withRetries(
        () => this.transport.attempt(request),
        this.policy,
        this.random,
        this.sleep,
      );
      const { text, truncatedBytes } = capAnswer(value.text);
      return {
        ...value,
        text,
        latencyMs: this.now() - start,
        attempts,
        ...(truncatedBytes !== undefined ? { truncatedBytes } : {}),
      };
    } catch (e) {
      if (!(e instanceof RetryFailure)) throw e;
      const history = e.history.length > 1 ? ` [attempts: ${e.history.join(", ")}]` : "";
      throw new LlmCallError(this.spec.name, e.last.kind, `${e.message}${history}`, {
        provider: this.spec.provider,
        status: e.last.status,
        attempts: e.attempts,
        usage: { tokensIn: 0, tokensOut: 0, costUsd: 0, latencyMs: this.now() - start },
      });
    }
  }
}

/** A stable 32-bit hash of a model name, so each model's jitter stream differs. */
export function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
