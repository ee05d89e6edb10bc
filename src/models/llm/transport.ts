/**
 * One attempt at one LLM call through the AI SDK, with the SDK's own retries off (retry.ts
 * decides, so backoff, Retry-After and jitter are ours and seeded). Failures are
 * classified into AttemptErrors; anything that is not a provider failure is a bug and
 * propagates.
 */
import {
  APICallError,
  AISDKError,
  generateText,
  NoObjectGeneratedError,
  Output,
  type LanguageModel,
} from "ai";
import { z } from "zod";
import type { LlmRequest } from "./prompt.ts";
import type { Redactor } from "./redact.ts";
import { AttemptError, parseRetryAfter } from "./retry.ts";

/**
 * The answer's JSON schema, sent to providers with structured output. Every field is
 * required because OpenAI's strict mode demands it; parsing (answer.ts) is more lenient.
 */
export const ANSWER_SCHEMA = z.object({
  transformations: z.array(z.string()),
  next_model: z.string(),
  rationale: z.string(),
});

export interface TransportSettings {
  readonly timeoutMs: number;
  readonly maxOutputTokens: number;
  readonly temperature?: number;
  readonly structuredOutput: boolean;
}

export interface RawReply {
  readonly text: string;
  readonly tokensIn: number;
  readonly tokensOut: number;
}

const RETRYABLE_STATUS = (s: number) => s === 408 || s === 409 || s === 429 || s >= 500;

export class SdkTransport {
  constructor(
    private readonly model: LanguageModel,
    private readonly settings: TransportSettings,
    private readonly redactor: Redactor,
  ) {}

  async attempt(request: LlmRequest): Promise<RawReply> {
    const s = this.settings;
    try {
      const result = await generateText({
        model: this.model,
        system: request.system,
        prompt: request.prompt,
        maxRetries: 0,
        timeout: s.timeoutMs,
        maxOutputTokens: s.maxOutputTokens,
        ...(s.temperature !== undefined ? { temperature: s.temperature } : {}),
        ...(s.structuredOutput
          ? { output: Output.object({ schema: ANSWER_SCHEMA, name: "joint_action" }) }
          : {}),
      });
      return {
        text: result.text,
        tokensIn: result.usage.inputTokens ?? 0,
        tokensOut: result.usage.outputTokens ?? 0,
      };
    } catch (e) {
      // The SDK could not read the answer as the schema; the lenient parser may still.
      if (NoObjectGeneratedError.isInstance(e)) {
        return {
          text: e.text ?? "",
          tokensIn: e.usage?.inputTokens ?? 0,
          tokensOut: e.usage?.outputTokens ?? 0,
        };
      }
      throw this.classify(e);
    }
  }

  private classify(e: unknown): AttemptError {
    const clean = (m: string) => this.redactor.redact(m).replace(/\s+/g, " ").slice(0, 300);
    if (APICallError.isInstance(e)) {
      const status = e.statusCode;
      if (status === undefined) return new AttemptError("network", clean(e.message), true);
      if (status >= 200 && status < 300) {
        // A 200 whose body is empty or not the provider's JSON: a proxy or server hiccup.
        return new AttemptError("invalid-response", clean(e.message), true, status);
      }
      return new AttemptError(
        "http",
        clean(e.message),
        RETRYABLE_STATUS(status),
        status,
        parseRetryAfter(e.responseHeaders),
      );
    }
    if (e instanceof DOMException && (e.name === "TimeoutError" || e.name === "AbortError")) {
      return new AttemptError("timeout", `no answer within ${this.settings.timeoutMs} ms`, true);
    }
    if (AISDKError.isInstance(e)) {
      // Other SDK errors (a response that does not match the provider's format, no
      // content): the same request would most likely fail the same way again.
      return new AttemptError("invalid-response", clean(e.message), false);
    }
    if (e instanceof TypeError && /fetch/i.test(e.message)) {
      return new AttemptError("network", clean(e.message), true);
    }
    throw e;
  }
}
