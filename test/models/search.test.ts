/**
 * COLT with real LLM proposers (through the AI SDK, against a scripted local server) and
 * fake measurements: whatever the providers do, the search spends its whole trial budget,
 * and every model's statistics count exactly the errors its script injected.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MockLlmServer, type Step } from "./support/mock-llm.ts";
import { liveProposers, pairBucket, runSearch } from "./support/setup.ts";

let server: MockLlmServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const answer = (transformations: string[], nextModel: string): Step => ({
  kind: "answer",
  text: JSON.stringify({ transformations, next_model: nextModel, rationale: "scripted" }),
});
const status = (s: number, headers?: Record<string, string>): Step => ({
  kind: "status",
  status: s,
  ...(headers ? { headers } : {}),
});
const slow: Step = { kind: "slow", delayMs: 3000, then: { kind: "default" } };
const alternate = (_model: string, call: number) => (call % 2 === 0 ? "small" : "large");

describe("COLT with LLM proposers", () => {
  it("completes its budget and counts exactly the injected errors", async () => {
    // Each entry is one proposer call (several HTTP steps when retried); maxRetries 2.
    const smallScript: [Step[], number][] = [
      [[{ kind: "default", wrap: "prose" }], 0],
      [[status(429, { "retry-after-ms": "40" }), { kind: "default", wrap: "fence" }], 0],
      [[answer(["vectorise everything"], "small")], 1], // invalid transformation
      [[status(500), status(502), { kind: "default", wrap: "trailing-comma" }], 0],
      [[{ kind: "default", nextModel: "gpt-imaginary" }], 1], // unknown model
      [[status(500), status(500), status(500)], 1], // retries exhausted
      [[slow, { kind: "default" }], 0], // one timeout, then an answer
      [[{ kind: "empty" }, { kind: "default" }], 0],
      [[{ kind: "answer", text: "Let me think about tiling first." }], 1], // unreadable
    ];
    const largeScript: [Step[], number][] = [
      [[{ kind: "default" }], 0],
      [[slow, slow, slow], 1], // timeout after 3 attempts
      [[{ kind: "empty" }, { kind: "empty" }, { kind: "empty" }], 1],
      [[{ kind: "default", nextModel: "medium" }], 1],
      [[status(429, { "retry-after": "0" }), { kind: "default" }], 0],
      [[answer(["split C.nope 4"], "small")], 1],
      [[status(400, {})], 1], // not retryable
    ];
    const steps = (s: [Step[], number][]) => s.flatMap(([st]) => st);
    const injected = (s: [Step[], number][]) => s.reduce((n, [, e]) => n + e, 0);
    server = await new MockLlmServer({
      scripts: { "gpt-small": steps(smallScript), "claude-haiku-4-5": steps(largeScript) },
      nextModel: alternate,
    }).start();
    const proposers = liveProposers(pairBucket(server.baseURL));
    const { session, result, stats } = await runSearch(proposers, 24);

    expect(session.trials).toHaveLength(24);
    expect(server.remaining("gpt-small")).toBe(0);
    expect(server.remaining("claude-haiku-4-5")).toBe(0);
    expect(stats("small").errors).toBe(injected(smallScript));
    expect(stats("large").errors).toBe(injected(largeScript));
    expect(result.expansions.reduce((n, e) => n + e.errors, 0)).toBe(
      injected(smallScript) + injected(largeScript),
    );
    expect(result.allModelsFailing).toBe(false);
    // Usage: every readable 200 was counted, and priced.
    for (const [name, id, price] of [
      ["small", "gpt-small", [0.5, 2]],
      ["large", "claude-haiku-4-5", [3, 15]],
    ] as const) {
      const m = stats(name);
      const answered = server.answered.get(id)!;
      expect(m.tokensIn).toBe(100 * answered);
      expect(m.tokensOut).toBe(20 * answered);
      expect(m.costUsd).toBeCloseTo((m.tokensIn * price[0] + m.tokensOut * price[1]) / 1e6, 12);
      expect(m.latencyMs).toBeGreaterThan(0);
      expect(m.toJSON()).toMatchObject({
        tokensIn: m.tokensIn,
        tokensOut: m.tokensOut,
        costUsd: m.costUsd,
      });
    }
    expect(stats("small").calls + stats("large").calls).toBeGreaterThan(
      smallScript.length + largeScript.length,
    );
  });

  it("keeps going on random legal moves when every model is down, and says so", async () => {
    server = await new MockLlmServer({ afterScript: status(503) }).start();
    const proposers = liveProposers(pairBucket(server.baseURL, { maxRetries: 0 }));
    const { session, result, stats } = await runSearch(proposers, 16);
    expect(session.trials).toHaveLength(16);
    expect(result.allModelsFailing).toBe(true);
    for (const name of ["small", "large"]) {
      expect(stats(name).calls).toBeGreaterThan(0);
      expect(stats(name).errors).toBe(stats(name).calls);
      expect(stats(name).hits + stats(name).tokensIn).toBe(0);
    }
    // Benched models fail fast: fewer requests than calls.
    const calls = stats("small").calls + stats("large").calls;
    expect(server.requests.length).toBeLessThan(calls);
    expect(result.treeSize).toBeGreaterThan(10);
  });

  it("benches a model that keeps failing and routes its work elsewhere", async () => {
    server = await new MockLlmServer({
      // The large model is down; the small one answers and hands work to the large one.
      scripts: { "claude-haiku-4-5": Array.from({ length: 200 }, () => status(500)) },
      nextModel: () => "large",
    }).start();
    const events: string[] = [];
    const proposers = liveProposers(pairBucket(server.baseURL, { maxRetries: 0 }), {
      onBench: (e) => events.push(`${e.model}:${e.failures}:${e.until}`),
    });
    const { session, result, stats } = await runSearch(proposers, 20);
    expect(session.trials).toHaveLength(20);
    const large = stats("large");
    expect(large.errors).toBe(large.calls);
    const largeRequests = server.requestsFor("claude-haiku-4-5").length;
    expect(largeRequests).toBeLessThan(large.calls);
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatch(/^large:3:\d+$/);
    // The healthy model was told not to name the benched one.
    expect(server.requestsFor("gpt-small").some((r) => r.prompt.includes("benched: failing"))).toBe(
      true,
    );
    expect(stats("small").errors).toBe(0);
    expect(result.allModelsFailing).toBe(false);
  });
});
