/**
 * The provider layer end to end: the real AI SDK clients against a local server that
 * speaks the OpenAI chat-completions and Anthropic messages APIs.
 */
import { afterEach, describe, expect, it } from "vitest";
import { validateBucket } from "../../src/models/bucket.ts";
import { LlmCallError } from "../../src/models/llm/errors.ts";
import { stepText, type Proposer } from "../../src/search/proposer.ts";
import { MockLlmServer, type Step } from "./support/mock-llm.ts";
import { context } from "./support/context.ts";
import { KEY, liveProposers, pairBucket } from "./support/setup.ts";

let server: MockLlmServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function serve(scripts: Record<string, Step[]>): Promise<MockLlmServer> {
  server = await new MockLlmServer({ scripts }).start();
  return server;
}

/** [small (OpenAI API), large (Anthropic API)] at the server. */
function pair(s: MockLlmServer): Proposer[] {
  return liveProposers(pairBucket(s.baseURL));
}

async function failure(p: Proposer): Promise<LlmCallError> {
  try {
    await p.propose(context());
  } catch (e) {
    expect(e).toBeInstanceOf(LlmCallError);
    return e as LlmCallError;
  }
  throw new Error("expected the call to fail");
}

const VALID = JSON.stringify({
  transformations: ["split C.io 2 -> ioo ioi"],
  next_model: "large",
  rationale: "r",
});

describe("providers through the AI SDK", () => {
  it("OpenAI: sends the key as a bearer token and asks for a JSON schema", async () => {
    const s = await serve({
      "gpt-small": [{ kind: "answer", text: VALID, tokensIn: 1000, tokensOut: 200 }],
    });
    const [small] = pair(s);
    const p = await small.propose(context());
    // The answer's text is read into typed steps here, in the models layer.
    expect(p.action).toEqual({
      steps: [{ kind: "split", stage: "C", loop: "io", factor: 2, outer: "ioo", inner: "ioi" }],
      nextModel: "large",
      rationale: "r",
    });
    expect(p.usage.tokensIn).toBe(1000);
    expect(p.usage.tokensOut).toBe(200);
    expect(p.usage.costUsd).toBeCloseTo((1000 * 0.5 + 200 * 2) / 1e6, 12);
    expect(p.usage.latencyMs).toBeGreaterThan(0);
    const req = s.requests[0];
    expect(req.api).toBe("openai");
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    const format = req.body.response_format as {
      type: string;
      json_schema: { schema: { required: string[] } };
    };
    expect(format.type).toBe("json_schema");
    expect(format.json_schema.schema.required).toEqual([
      "transformations",
      "next_model",
      "rationale",
    ]);
    expect(req.prompt).toContain("## Legal next transformations");
    expect(req.body.max_tokens).toBe(1024);
  });

  it("Anthropic: sends x-api-key and a JSON-schema output format", async () => {
    const s = await serve({ "claude-haiku-4-5": [{ kind: "answer", text: VALID }] });
    const [, large] = pair(s);
    const p = await large.propose(context());
    expect(p.action.nextModel).toBe("large");
    expect(p.usage).toMatchObject({ tokensIn: 100, tokensOut: 20 });
    expect(p.usage.costUsd).toBeCloseTo((100 * 3 + 20 * 15) / 1e6, 12);
    const req = s.requests[0];
    expect(req.api).toBe("anthropic");
    expect(req.headers["x-api-key"]).toBe(KEY);
    expect(req.body.output_config).toMatchObject({ format: { type: "json_schema" } });
    expect(req.body.max_tokens).toBe(1024);
  });

  it("OpenAI-compatible: no key, no schema by default, answers read tolerantly", async () => {
    const s = await serve({
      "llama3.1:8b": [
        { kind: "answer", text: "Sure!\n```json\n" + VALID.replace("]", ",]") + "\n```" },
        { kind: "answer", text: VALID },
      ],
    });
    const model = (structuredOutput?: boolean) => ({
      name: "local",
      provider: "openai-compatible" as const,
      model: "llama3.1:8b",
      baseURL: s.baseURL,
      params: "8B",
      ...(structuredOutput !== undefined ? { structuredOutput } : {}),
    });
    const [plain] = liveProposers(validateBucket({ models: [model()] }, "t"));
    const p = await plain.propose(context());
    expect(p.action.steps.map(stepText)).toEqual(["split C.io 2 -> ioo ioi"]);
    expect(p.usage.costUsd).toBe(0);
    expect(s.requests[0].headers.authorization).toBeUndefined();
    expect(s.requests[0].body.response_format).toBeUndefined();
    const [structured] = liveProposers(validateBucket({ models: [model(true)] }, "t"));
    await structured.propose(context());
    expect(s.requests[1].body.response_format).toMatchObject({ type: "json_schema" });
  });

  it("retries a 429, waiting as long as Retry-After says", async () => {
    const s = await serve({
      "gpt-small": [
        { kind: "status", status: 429, headers: { "retry-after": "1" } },
        { kind: "answer", text: VALID },
      ],
    });
    const [small] = pair(s);
    const start = performance.now();
    const p = await small.propose(context());
    expect(performance.now() - start).toBeGreaterThanOrEqual(1000);
    expect(p.action.steps).toHaveLength(1);
    expect(p.usage.latencyMs).toBeGreaterThanOrEqual(1000);
    expect(s.requests).toHaveLength(2);
  });

  it("gives up on 5xx after maxRetries and says so with the status", async () => {
    const s = await serve({
      "claude-haiku-4-5": [
        { kind: "status", status: 500 },
        { kind: "status", status: 503 },
        { kind: "status", status: 500 },
      ],
    });
    const [, large] = pair(s);
    const e = await failure(large);
    expect(e.kind).toBe("http");
    expect(e.status).toBe(500);
    expect(e.attempts).toBe(3);
    expect(e.provider).toBe("anthropic");
    expect(e.message).toMatch(
      /^model large: anthropic http 500 after 3 attempts: .*HTTP 500, HTTP 503, HTTP 500/,
    );
    expect(e.usage?.latencyMs).toBeGreaterThan(0);
    expect(s.requests).toHaveLength(3);
  });

  it("times out a slow answer, and retries it", async () => {
    const slow: Step = { kind: "slow", delayMs: 3000, then: { kind: "answer", text: VALID } };
    const s = await serve({
      "gpt-small": [slow, { kind: "answer", text: VALID }, slow, slow, slow],
    });
    const [small] = pair(s);
    const ok = await small.propose(context());
    expect(ok.usage.latencyMs).toBeGreaterThanOrEqual(1500);
    const e = await failure(small);
    expect(e.kind).toBe("timeout");
    expect(e.attempts).toBe(3);
    expect(e.message).toContain("no answer within 1500 ms");
  });

  it("retries an empty body and reports it when it persists", async () => {
    const s = await serve({
      "gpt-small": [
        { kind: "empty" },
        { kind: "answer", text: VALID },
        { kind: "empty" },
        { kind: "empty" },
        { kind: "empty" },
      ],
    });
    const [small] = pair(s);
    await small.propose(context());
    const e = await failure(small);
    expect(e.kind).toBe("invalid-response");
    expect(e.attempts).toBe(3);
  });

  it("does not retry a 401 and never repeats the key the server echoed", async () => {
    const s = await serve({
      "gpt-small": [
        {
          kind: "status",
          status: 401,
          body: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}` } }),
        },
      ],
    });
    const [small] = pair(s);
    const e = await failure(small);
    expect(e.kind).toBe("http");
    expect(e.status).toBe(401);
    expect(e.attempts).toBe(1);
    expect(e.message).toContain("Incorrect API key provided: [redacted]");
    expect(e.message).not.toContain(KEY);
    expect(JSON.stringify(e)).not.toContain(KEY);
    expect(s.requests).toHaveLength(1);
  });

  it("counts an unreadable answer as an error that still cost tokens", async () => {
    const s = await serve({
      "gpt-small": [{ kind: "answer", text: "I would split i.", tokensIn: 50, tokensOut: 5 }],
    });
    const [small] = pair(s);
    const e = await failure(small);
    expect(e.kind).toBe("answer");
    expect(e.message).toContain('no JSON object in the answer: "I would split i."');
    expect(e.usage).toMatchObject({ tokensIn: 50, tokensOut: 5 });
    expect(e.usage!.costUsd).toBeGreaterThan(0);
  });

  it("reads written steps into typed ones; a step that does not parse stays as written, unreadable", async () => {
    const text = JSON.stringify({
      transformations: ["unroll C.k", "vectorise everything"],
      next_model: "large",
    });
    const s = await serve({ "gpt-small": [{ kind: "answer", text }] });
    const [small] = pair(s);
    const [unroll, sloppy] = (await small.propose(context())).action.steps;
    expect(unroll).toEqual({ kind: "unroll", stage: "C", loop: "k" });
    expect(sloppy).toMatchObject({ kind: "unreadable", text: "vectorise everything" });
  });

  it("reports a server that is not there as a network failure", async () => {
    const s = await serve({});
    const url = s.baseURL;
    await s.stop();
    const [small] = liveProposers(pairBucket(url, { maxRetries: 1 }));
    const e = await failure(small);
    expect(e.kind).toBe("network");
    expect(e.attempts).toBe(2);
  });

  it("reads the key only from the variable the bucket names", () => {
    expect(() =>
      liveProposers(
        validateBucket(
          {
            models: [
              { name: "a", provider: "openai", model: "m", apiKeyEnv: "NOPE_NOT_SET", params: 1e9 },
            ],
          },
          "t",
        ),
      ),
    ).toThrow("model 'a': environment variable NOPE_NOT_SET (its apiKeyEnv) is not set");
  });
});
