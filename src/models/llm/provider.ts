/**
 * The one provider layer: a bucket entry becomes an AI SDK language model. OpenAI is
 * used through its chat-completions API (what every OpenAI-compatible server speaks
 * too), Anthropic through its messages API, and anything else OpenAI-compatible (Ollama,
 * vLLM, llama.cpp server, LM Studio, gateways) through its base URL.
 */
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";
import { usesStructuredOutput, type ModelSpec } from "../bucket.ts";

export interface ProviderOptions {
  /** The key read from the model's apiKeyEnv (undefined: none, e.g. a local server). */
  readonly apiKey: string | undefined;
  /** A fetch to use instead of the global one (tests, proxies). */
  readonly fetch?: typeof globalThis.fetch;
}

export function languageModelFor(spec: ModelSpec, options: ProviderOptions): LanguageModel {
  const { apiKey, fetch } = options;
  switch (spec.provider) {
    case "openai":
      return createOpenAI({ apiKey, baseURL: spec.baseURL, fetch }).chat(spec.model);
    case "anthropic":
      return createAnthropic({ apiKey, baseURL: spec.baseURL, fetch })(spec.model);
    case "openai-compatible":
      return createOpenAICompatible({
        name: "openai-compatible",
        baseURL: spec.baseURL!,
        apiKey,
        fetch,
        supportsStructuredOutputs: usesStructuredOutput(spec),
      })(spec.model);
  }
}

/** Where a model is served, for descriptions (never with credentials in the URL). */
export function endpointOf(spec: ModelSpec): string {
  if (!spec.baseURL) return spec.provider === "openai" ? "api.openai.com" : "api.anthropic.com";
  const url = new URL(spec.baseURL);
  url.username = "";
  url.password = "";
  return url.toString().replace(/\/$/, "");
}
