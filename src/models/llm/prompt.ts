/**
 * The prompts LLM proposers send for expansion and course alteration (docs/design.md).
 * A prompt is a pure function of the proposal context, so the same search state gives the
 * same request text, which is what record/replay keys on. Wall-clock time is deliberately
 * left out.
 */
import { printTransform } from "../../schedule/text.ts";
import {
  stepText,
  type ModelStatsView,
  type ProposalContext,
  type ScoreView,
} from "../../search/proposer.ts";
import type { Target } from "../../target/target.ts";

export interface LlmRequest {
  readonly system: string;
  readonly prompt: string;
}

export interface PromptOptions {
  /** The model being asked. */
  readonly self: string;
  readonly maxLegalMoves: number;
  /** Models that are benched right now (do not name them as next_model). */
  readonly unavailable?: readonly string[];
}

/** The transformation language in brief (docs/schedule-language.md has the full text). */
const languageSummary = (
  target: Target,
) => `One transformation per line; loops are named <stage>.<loop> as in the loop nest.
- split S.l F -> lo li          split loop l by factor F (tails are guarded)
- tile S.a S.b Fa Fb -> ao bo ai bi   split two loops and order them ao bo ai bi
- reorder S l1 l2 ...           these loops take, in this order, the positions they occupy now
- fuse S.outer S.inner -> f     merge a loop with the loop directly inside it
- parallel S.l                  run a spatial loop on all cores (one level; not reductions); to avoid a barrier per outer block, split off one part per thread and move it outermost
- parallel S.l dynamic C        the same, iterations handed out C at a time to whichever thread is free (evens out cores whose speed varies, e.g. streaming rows through shared memory)
- vectorize S.l                 SIMD over the innermost loop (extent ${target.vectorWidths.join(", ")}; one register is ${target.isa.lanes} fp32 lanes); accesses must be contiguous or invariant
- unroll S.l                    emit the body once per iteration (extent <= 64)
- cache_write S at l            accumulate the output part written inside loop l in a local buffer
- pack T in S at l              copy the part of tensor T read inside loop l into a contiguous panel
- cache_read T in S at l        like pack, keeping T's dimension order
- prepare W in S                re-lay weight W (inputs marked "(weight)": constant across calls) once, before the timed runs, as pack's panels of the whole weight in the order S's loops read it; no copy left in the kernel, not counted in its time
- compute_at P at S.l           compute producer P's needed region inside consumer loop S.l; P's other consumers must already be computed at S.l, so a chain goes consumers first (attention: split O.s 64 -> so si, then compute_at probs, row_sum, exp_scores, row_max, scores at O.so: a query block's scores never leave cache)
- vectorize a reduction loop    after cache_write S at a loop outside every reduction loop: vector accumulators (unroll a reduction loop for several), combined horizontally after the reduction
- compute_inline P              substitute an element-wise producer into its consumers
- skip_masked S                 skip S's loop iterations that a mask voids (causal attention: scores, row_max, row_sum and O skip key blocks past the query block)
- rfactor S.k F -> ko ki        split a reduction so its outer part becomes spatial
- winograd S                    rewrite a stride-1 3x3 convolution S (first, on the untouched stage) into Winograd F(2x2,3x3): 4/9 of the multiplications, as a batched GEMM S_M[e,f,n,o,t] = sum_c S_U * S_V (S_U, the transformed filter, is computed once in prepare; prepare it in S_M) between vectorizable input (S_V) and output (S_Y) transforms
- stream_store S                ${target.isa.arch === "x86_64" ? "write S's output vectors past the caches (non-temporal stores; S at the root, written once): a large output that is not read back soon stops evicting the inputs" : "no effect on this target (it has no non-temporal vector store)"}
- pipeline S.l                  run the producers computed at S.l for step l together with S's own loop for step l-1, fused into the producer loop with as many steps (their regions double-buffered): softmax's exps of the next row hide the stores of this row (l serial; on several threads split the rows into one part per thread and pipeline the rows of each part)
- prefetch T in S at l ahead a D   at the top of each iteration of S.l, fetch what S reads of T D iterations of loop a later (a encloses l or is l): rmsnorm fetches the next row while writing this one (prefetch X in Y at jo ahead i 1); a skinny GEMM fetches a prepared weight's panel two ahead (prefetch W1 in gate_proj at h1 ahead fo 2 spread). With "spread": all of iteration a+D's data into L1, a share per iteration of the loops between a and l (the row blocks as well as l), not a burst from the first ones
Names after "->" may be left out (defaults are derived). Every step is validated; refused steps count as errors.`;

export const ANSWER_FORMAT =
  '{"transformations": ["<transformation>", ...], "next_model": "<model name>", "rationale": "<one short sentence>"}';

const SYSTEM = (self: string, target: Target) =>
  `You are ${self}, one of several language models of different size that share one search ` +
  `tree in COLT, a compiler that tunes ML operators into fast C code for one CPU target, ` +
  `${target.name} (${target.description}). Each turn you get ` +
  `one program of the tree, already transformed by its trace, and propose the next ` +
  `compiler transformations (a joint action) together with the model that should expand ` +
  `the result. Goal: the lowest measured run time. Answer with one JSON object only.`;

function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(3)} s`;
  if (ms >= 1) return `${ms.toFixed(3)} ms`;
  return `${(ms * 1000).toFixed(1)} us`;
}

function formatTime(label: string, v: ScoreView | undefined): string {
  if (!v) return `- ${label}: none`;
  const how = v.measured ? "measured" : "predicted by the cost model";
  return `- ${label}: ${formatMs(v.ms)} (${how}; score ${v.score.toFixed(3)})`;
}

export function formatSize(size: number): string {
  if (size >= 1e12) return `${+(size / 1e12).toPrecision(3)}T`;
  if (size >= 1e9) return `${+(size / 1e9).toPrecision(3)}B`;
  if (size >= 1e6) return `${+(size / 1e6).toPrecision(3)}M`;
  return `relative cost ${+size.toPrecision(3)}`;
}

function modelTable(models: readonly ModelStatsView[], unavailable: readonly string[]): string {
  const rows = [...models]
    .sort((a, b) => a.size - b.size || a.name.localeCompare(b.name))
    .map((m) => {
      const rate = m.calls > 0 ? `${((100 * m.hits) / m.calls).toFixed(0)}%` : "-";
      const notes = [m.kind === "offline" ? "built-in, not an LLM" : ""];
      if (unavailable.includes(m.name)) notes.push("benched: failing, do not name it now");
      const note = notes.filter(Boolean).join("; ");
      return `| ${m.name} | ${formatSize(m.size)} | ${m.calls} | ${rate} | ${m.errors} | ${m.courseAlterations} | ${m.alterationsCaused} | ${m.costUsd.toFixed(4)} |${note ? ` ${note}` : ""}`;
    });
  return [
    "| model | size | calls | hit rate | errors | course alterations made | course alterations its regressions caused | cost USD |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/**
 * At most `max` legal moves, spread over the kinds of transformation (round robin in
 * the enumeration's order) so a long list of splits does not hide the other kinds.
 */
export function sampleLegalMoves(
  moves: readonly string[],
  kinds: readonly string[],
  max: number,
): string[] {
  if (moves.length <= max) return [...moves];
  const byKind = new Map<string, string[]>();
  moves.forEach((m, i) => {
    const list = byKind.get(kinds[i]) ?? [];
    list.push(m);
    byKind.set(kinds[i], list);
  });
  const chosen = new Set<string>();
  for (let round = 0; chosen.size < max; round++) {
    let added = false;
    for (const list of byKind.values()) {
      if (round < list.length && chosen.size < max) {
        chosen.add(list[round]);
        added = true;
      }
    }
    if (!added) break;
  }
  // Keep the enumeration's order so the list reads naturally (by stage and loop).
  return moves.filter((m) => chosen.has(m));
}

function legalSection(ctx: ProposalContext, max: number): string {
  const moves = ctx.legalMoves();
  const texts = moves.map((m) => printTransform(m.transform));
  const shown = sampleLegalMoves(
    texts,
    moves.map((m) => m.transform.kind),
    max,
  );
  const head =
    shown.length < texts.length
      ? `## Legal next transformations (${shown.length} of ${texts.length} shown, spread over the kinds)`
      : `## Legal next transformations (${texts.length})`;
  const body =
    shown.length > 0
      ? shown.map((t) => `- ${t}`).join("\n")
      : "(none: nothing more can be applied)";
  return `${head}\n${body}`;
}

function rejectedSection(ctx: ProposalContext): string {
  const r = ctx.rejected;
  if (!r) return "";
  return [
    "## A smaller model's proposal for this program made it slower",
    `${r.model} proposed ${JSON.stringify(r.steps.map(stepText))} (next_model: ${JSON.stringify(r.nextModel)}).`,
    `Time before: ${formatMs(r.parentMs)} (score ${r.parentScore.toFixed(3)}); after: ${formatMs(r.childMs)} (score ${r.childScore.toFixed(3)}).`,
    "You are the largest model: propose your own, better joint action for the same program. " +
      "Your child replaces the smaller model's unless it scores worse.",
  ].join("\n");
}

function triedSection(ctx: ProposalContext): string {
  if (ctx.children.length === 0) return "";
  const lines = ctx.children.map((c) => {
    const steps = (
      c.trace.startsWith(ctx.traceText) ? c.trace.slice(ctx.traceText.length) : c.trace
    )
      .trim()
      .split("\n")
      .join("; ");
    return formatTime(steps, c);
  });
  return [
    "## Already tried at this program",
    "These steps already made children of this program (propose something different, or build on what worked):",
    ...lines,
  ].join("\n");
}

export function buildPrompt(ctx: ProposalContext, options: PromptOptions): LlmRequest {
  const unavailable = options.unavailable ?? [];
  const names = ctx.models.map((m) => m.name);
  const trace = ctx.traceText.trim();
  const ancestors =
    ctx.ancestorModels.length > 0 ? ctx.ancestorModels.join(" -> ") : "none (this is the root)";
  const sections = [
    ctx.purpose === "course-alteration"
      ? "Task: course alteration. Propose a joint action for the program below."
      : "Task: expand this node of the search tree. Propose a joint action for the program below.",
    ["## Program (after the trace)", "```", ctx.programText.trimEnd(), "```"].join("\n"),
    ["## Trace so far", trace === "" ? "(empty: the unscheduled program)" : trace].join("\n"),
    [
      "## Times (lower is better; score 0 = unscheduled program, 1 = roofline bound)",
      formatTime("this program", ctx.node),
      formatTime("parent", ctx.parent),
      formatTime("grandparent", ctx.grandparent),
    ].join("\n"),
    ["## Transformation language", languageSummary(ctx.target)].join("\n"),
    legalSection(ctx, options.maxLegalMoves),
    triedSection(ctx),
    [
      "## Models",
      modelTable(ctx.models, unavailable),
      `You are ${options.self}. Models that expanded the ancestors of this program (root first): ${ancestors}.`,
    ].join("\n"),
    [
      "## Budget",
      `Measured trials: ${ctx.budget.trialsUsed} of ${ctx.budget.trials} used. Model calls so far: ${ctx.budget.proposerCalls}. ` +
        `Candidates run on ${ctx.threads} core${ctx.threads === 1 ? "" : "s"}.`,
    ].join("\n"),
    rejectedSection(ctx),
    [
      "## Your answer",
      "One JSON object, nothing else:",
      ANSWER_FORMAT,
      "- transformations: 1 to 4 steps in the language above, applied in order to this program. " +
        "The first is usually one of the legal next transformations listed; each later step must be legal after the earlier ones. " +
        "Invalid steps count as your errors and are replaced by random moves.",
      `- next_model: the model that expands the result, one of: ${names.join(", ")}. ` +
        "Smaller models are cheaper; name a larger one when the next step needs more judgement.",
    ].join("\n"),
  ];
  return {
    system: SYSTEM(options.self, ctx.target),
    prompt: sections.filter((s) => s !== "").join("\n\n") + "\n",
  };
}
