import { describe, expect, it } from "vitest";
import { buildPrompt, formatSize, sampleLegalMoves } from "../../src/models/llm/prompt.ts";
import { readStep } from "../../src/models/llm/steps.ts";
import { printTransform } from "../../src/schedule/text.ts";
import { context } from "./support/context.ts";
import { legalMovesInPrompt } from "./support/mock-llm.ts";

describe("prompts", () => {
  it("gives the expansion context: program, trace, times, legal moves, models, budget", () => {
    const ctx = context();
    const { system, prompt } = buildPrompt(ctx, { self: "small", maxLegalMoves: 500 });
    expect(system).toContain("You are small");
    expect(system).toMatch(/lowest measured run time/);
    expect(prompt).toContain(ctx.programText.trimEnd());
    expect(prompt).toContain("## Trace so far\nsplit C.i 8 -> io ii\nsplit C.j 16 -> jo ji");
    expect(prompt).toContain("- this program: 500.0 us (predicted by the cost model; score 0.400)");
    expect(prompt).toContain("- parent: 750.0 us (measured; score 0.300)");
    expect(prompt).toContain("- grandparent: 1.250 ms (measured; score 0.100)");
    const moves = ctx.legalMoves();
    expect(prompt).toContain(`## Legal next transformations (${moves.length})`);
    expect(prompt).toContain(`- ${printTransform(moves[0].transform)}\n`);
    expect(legalMovesInPrompt(prompt)).toEqual(moves.map((m) => printTransform(m.transform)));
    expect(prompt).toContain("- split S.l F -> lo li");
    expect(prompt).toMatch(/- vectorize a reduction loop +after cache_write S at a loop outside/);
    // Smallest model first, with its size, hit rate, errors, course alterations made and
    // caused, and cost.
    expect(prompt).toMatch(
      /\| small \| 8B \| 10 \| 50% \| 0 \| 0 \| 3 \| 0\.0010 \|\n\| large \| 70B \| 4 \| 25% \| 2 \| 1 \| 0 \| 0\.0123 \|/,
    );
    expect(prompt).toContain("(root first): large -> small.");
    expect(prompt).toContain("Measured trials: 3 of 64 used. Model calls so far: 14.");
    expect(prompt).toContain(
      '{"transformations": ["<transformation>", ...], "next_model": "<model name>"',
    );
    expect(prompt).toContain("one of: large, small");
    expect(prompt).not.toContain("made it slower");
  });

  it("is a pure function of the context (replay keys on it)", () => {
    const a = buildPrompt(context(), { self: "small", maxLegalMoves: 20 });
    const b = buildPrompt(context(), { self: "small", maxLegalMoves: 20 });
    expect(a).toEqual(b);
  });

  it("caps the legal moves, spread over the kinds", () => {
    const ctx = context();
    const all = ctx.legalMoves();
    const { prompt } = buildPrompt(ctx, { self: "small", maxLegalMoves: 12 });
    expect(prompt).toContain(`(12 of ${all.length} shown, spread over the kinds)`);
    const listed = legalMovesInPrompt(prompt).map((l) => `- ${l}`);
    expect(listed).toHaveLength(12);
    const kinds = new Set(all.map((m) => m.transform.kind));
    for (const k of kinds)
      expect(
        listed.some((l) => l.startsWith(`- ${k} `)),
        k,
      ).toBe(true);
    expect(sampleLegalMoves(["a1", "a2", "a3", "b1"], ["a", "a", "a", "b"], 2)).toEqual([
      "a1",
      "b1",
    ]);
  });

  it("shows the rejected proposal and both times for course alteration", () => {
    const ctx = context({
      purpose: "course-alteration",
      rejected: {
        model: "small",
        steps: [readStep("split C.k 4 -> ko ki")],
        nextModel: "small",
        parentScore: 0.4,
        childScore: 0.2,
        parentMs: 0.5,
        childMs: 0.9,
      },
    });
    const { prompt } = buildPrompt(ctx, { self: "large", maxLegalMoves: 30 });
    expect(prompt).toContain("Task: course alteration");
    expect(prompt).toContain('small proposed ["split C.k 4 -> ko ki"] (next_model: "small")');
    expect(prompt).toContain("Time before: 500.0 us (score 0.400); after: 900.0 us (score 0.200)");
    expect(prompt).toContain("propose your own, better joint action");
  });

  it("lists what was already tried at the node, as the steps after its trace", () => {
    const node = context();
    expect(buildPrompt(node, { self: "small", maxLegalMoves: 30 }).prompt).not.toContain(
      "Already tried",
    );
    const ctx = context({
      children: [
        { trace: `${node.traceText}parallel C.io\n`, ms: 0.25, measured: true, score: 0.6 },
        {
          trace: `${node.traceText}split C.k 4 -> ko ki\nunroll C.ki\n`,
          ms: 0.75,
          measured: false,
          score: 0.3,
        },
      ],
    });
    const { prompt } = buildPrompt(ctx, { self: "small", maxLegalMoves: 30 });
    expect(prompt).toContain(
      "## Already tried at this program\nThese steps already made children of this program (propose something different, or build on what worked):\n" +
        "- parallel C.io: 250.0 us (measured; score 0.600)\n" +
        "- split C.k 4 -> ko ki; unroll C.ki: 750.0 us (predicted by the cost model; score 0.300)\n",
    );
  });

  it("names benched models and labels built-in proposers", () => {
    const ctx = context({
      models: [
        {
          name: "offline-random",
          kind: "offline",
          size: 0.5e9,
          calls: 0,
          hits: 0,
          errors: 0,
          courseAlterations: 0,
          alterationsCaused: 0,
          costUsd: 0,
        },
        ...context().models,
      ],
    });
    const { prompt } = buildPrompt(ctx, {
      self: "small",
      maxLegalMoves: 5,
      unavailable: ["large"],
    });
    expect(prompt).toMatch(/\| offline-random \| 500M \| 0 \| - \|.*built-in, not an LLM/);
    expect(prompt).toMatch(/\| large \|.*benched: failing, do not name it now/);
    expect(formatSize(3)).toBe("relative cost 3");
  });
});
