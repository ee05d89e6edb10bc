/**
 * An LLM as a proposer: the context becomes a prompt, the exchange brings the reply, the
 * reply is read tolerantly into a joint action of typed steps (an answer over the size cap
 * counts as this model's error), and usage is priced. Steps that do not parse go back as
 * unreadable and legality is not checked here: the search applies the steps and counts
 * failures as this model's.
 */
import type { ModelSpec } from "../bucket.ts";
import type {
  ModelInfo,
  Proposal,
  ProposalContext,
  Proposer,
  ProposalUsage,
} from "../../search/proposer.ts";
import { describeOversize } from "./answer-cap.ts";
import { AnswerError, parseAnswer } from "./answer.ts";
import type { BenchBoard } from "./bench.ts";
import { LlmCallError } from "./errors.ts";
import type { Exchange } from "./exchange.ts";
import { buildPrompt } from "./prompt.ts";
import { readStep } from "./steps.ts";

export function costUsd(spec: ModelSpec, tokensIn: number, tokensOut: number): number {
  const p = spec.pricing;
  if (!p) return 0;
  return (tokensIn * p.inputPerMillion + tokensOut * p.outputPerMillion) / 1e6;
}

export interface LlmProposerOptions {
  readonly maxLegalMoves: number;
  /** Shared with the other models of the bucket: who is benched (named in prompts). */
  readonly board?: BenchBoard;
}

export class LlmProposer implements Proposer {
  constructor(
    readonly info: ModelInfo,
    private readonly spec: ModelSpec,
    private readonly exchange: Exchange,
    private readonly options: LlmProposerOptions,
  ) {}

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const request = buildPrompt(ctx, {
      self: this.info.name,
      maxLegalMoves: this.options.maxLegalMoves,
      unavailable: this.options.board?.benched(ctx.budget.proposerCalls) ?? [],
    });
    const reply = await this.exchange.send(request);
    const usage: ProposalUsage = {
      tokensIn: reply.tokensIn,
      tokensOut: reply.tokensOut,
      costUsd: costUsd(this.spec, reply.tokensIn, reply.tokensOut),
      latencyMs: reply.latencyMs,
    };
    if (reply.truncatedBytes !== undefined) {
      throw new LlmCallError(this.info.name, "oversized", describeOversize(reply.truncatedBytes), {
        provider: this.spec.provider,
        usage,
      });
    }
    try {
      const { transformations, ...rest } = parseAnswer(reply.text);
      return { action: { ...rest, steps: transformations.map(readStep) }, usage };
    } catch (e) {
      if (!(e instanceof AnswerError)) throw e;
      throw new LlmCallError(this.info.name, "answer", e.message, {
        provider: this.spec.provider,
        usage,
      });
    }
  }
}
