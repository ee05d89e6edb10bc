import { describe, expect, it } from "vitest";
import { BenchBoard, BenchingProposer } from "../../src/models/llm/bench.ts";
import { LlmCallError, type FailureKind } from "../../src/models/llm/errors.ts";
import type { Proposal, ProposalContext, Proposer } from "../../src/search/proposer.ts";
import { context } from "./support/context.ts";

/** A proposer that fails with the scripted kinds, then answers. */
class Flaky implements Proposer {
  readonly info = { name: "m", kind: "llm" as const, size: 1e9, description: "m" };
  calls = 0;
  constructor(private readonly kinds: (FailureKind | "ok")[]) {}
  async propose(): Promise<Proposal> {
    const k = this.kinds[this.calls++] ?? "ok";
    if (k !== "ok") throw new LlmCallError("m", k, "scripted", { provider: "openai" });
    return {
      action: { steps: [], nextModel: "m" },
      usage: { tokensIn: 0, tokensOut: 0, costUsd: 0, latencyMs: 0 },
    };
  }
}

const at = (call: number): ProposalContext => ({
  ...context(),
  budget: { trialsUsed: 0, trials: 10, proposerCalls: call },
});

async function outcome(p: Proposer, call: number): Promise<string> {
  try {
    await p.propose(at(call));
    return "ok";
  } catch (e) {
    return (e as LlmCallError).kind;
  }
}

describe("benching", () => {
  it("benches after consecutive outages, fails fast while benched, doubles on relapse", async () => {
    const events: string[] = [];
    const board = new BenchBoard({ afterFailures: 2, calls: 3, maxCalls: 5 }, (e) =>
      events.push(`${e.failures}@${e.until}`),
    );
    const inner = new Flaky(["http", "timeout", "network", "http"]);
    const p = new BenchingProposer(inner, board, "openai");
    const seen: string[] = [];
    for (let call = 1; call <= 14; call++) seen.push(await outcome(p, call));
    expect(seen).toEqual([
      "http", // 1
      "timeout", // 2: benched until call 5
      "benched",
      "benched",
      "network", // 5: probe fails, benched again for 6 calls, capped at 5: until 10
      "benched",
      "benched",
      "benched",
      "benched",
      "http", // 10: probe fails, benched until 15
      "benched",
      "benched",
      "benched",
      "benched",
    ]);
    expect(inner.calls).toBe(4);
    expect(events).toEqual(["2@5", "3@10", "4@15"]);
    expect(board.benched(12)).toEqual(["m"]);
    expect(board.benched(15)).toEqual([]);
  });

  it("is cleared by one good answer and not triggered by bad answers", async () => {
    const board = new BenchBoard({ afterFailures: 2, calls: 4, maxCalls: 8 });
    const p = new BenchingProposer(
      new Flaky(["http", "ok", "http", "answer", "answer", "http"]),
      board,
      "openai",
    );
    const seen: string[] = [];
    for (let call = 1; call <= 6; call++) seen.push(await outcome(p, call));
    expect(seen).toEqual(["http", "ok", "http", "answer", "answer", "http"]);
    expect(board.benched(7)).toEqual([]);
  });
});
