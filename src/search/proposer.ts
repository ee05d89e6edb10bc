/**
 * What the search asks of a proposal model: given a context, return a joint action —
 * transformation steps and the model that will expand the new child. The search defines
 * this interface and models implement it (the layers above wire them in). The search
 * never builds prompts; LLM proposers turn the context into a prompt and read the answer
 * into steps, offline proposers build steps from the schedule directly. Steps are data:
 * the search applies and validates each one.
 */
import type { LegalMove } from "../schedule/enumerate.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { printTransform } from "../schedule/text.ts";
import type { Transform } from "../schedule/transform.ts";
import type { Target } from "../target/target.ts";

export interface ModelInfo {
  readonly name: string;
  /** "offline" proposers are built in and are not LLMs; results label them as such. */
  readonly kind: "offline" | "llm";
  /** Parameter count (or relative cost): what the policy's φ is computed from. */
  readonly size: number;
  readonly description: string;
}

export interface ModelStatsView {
  readonly name: string;
  readonly kind: ModelInfo["kind"];
  readonly size: number;
  readonly calls: number;
  readonly hits: number;
  readonly errors: number;
  readonly courseAlterations: number;
  /** Course alterations (calls of the largest model) this model's regressions triggered. */
  readonly alterationsCaused: number;
  readonly costUsd: number;
}

export interface ScoreView {
  /** Measured time when measured, else the cost model's prediction. */
  readonly ms: number;
  readonly measured: boolean;
  /** Normalised score in [0, 1] (0: unscheduled program, 1: roofline bound). */
  readonly score: number;
}

export interface ChildView extends ScoreView {
  readonly trace: string;
}

export interface ProposalContext {
  readonly purpose: "expand" | "course-alteration";
  readonly schedule: Schedule;
  /** The program after the node's trace, as loop-nest pseudo-code. */
  readonly programText: string;
  readonly traceText: string;
  readonly node: ScoreView;
  readonly parent?: ScoreView;
  readonly grandparent?: ScoreView;
  /** Legal next transformations (computed on demand: it costs a few milliseconds). */
  legalMoves(): readonly LegalMove[];
  /** The cost model's prediction for any schedule, in ms. */
  predictMs(schedule: Schedule): number;
  readonly models: readonly ModelStatsView[];
  /** The node's children so far: their traces and times. */
  readonly children: readonly ChildView[];
  /** Models that expanded the ancestors of this node, root first. */
  readonly ancestorModels: readonly string[];
  /** Cores each candidate runs on (parallel loops only pay off above one). */
  readonly threads: number;
  /** What candidates are built for: vector widths, registers. */
  readonly target: Target;
  readonly budget: {
    readonly trialsUsed: number;
    readonly trials: number;
    readonly proposerCalls: number;
  };
  /** For course alteration: the smaller model's proposal and how it scored. */
  readonly rejected?: {
    readonly model: string;
    readonly steps: readonly ProposedStep[];
    readonly nextModel: string;
    readonly parentScore: number;
    readonly childScore: number;
    readonly parentMs: number;
    readonly childMs: number;
  };
}

/**
 * A step a model wrote that is not a transformation of the schedule language (it does not
 * parse): the search counts it as the model's error and replaces it by a random legal move.
 */
export interface UnreadableStep {
  readonly kind: "unreadable";
  /** As the model wrote it. */
  readonly text: string;
  readonly reason: string;
}

export type ProposedStep = Transform | UnreadableStep;

/** A step as text: the schedule language, or what the model wrote. */
export function stepText(step: ProposedStep): string {
  return step.kind === "unreadable" ? step.text : printTransform(step);
}

export interface JointAction {
  /** Applied in order; a step that does not parse or is refused is one error of the model. */
  readonly steps: readonly ProposedStep[];
  readonly nextModel: string;
  readonly rationale?: string;
}

export interface ProposalUsage {
  readonly tokensIn: number;
  readonly tokensOut: number;
  readonly costUsd: number;
  readonly latencyMs: number;
}

export interface Proposal {
  readonly action: JointAction;
  readonly usage: ProposalUsage;
}

/**
 * A proposal that could not be obtained or read at all (counted as the model's error).
 * `usage` is what the failed call still cost (tokens of an unreadable answer, time spent
 * waiting), so the accounting stays complete.
 */
export class ProposerError extends Error {
  constructor(
    readonly model: string,
    message: string,
    readonly usage?: ProposalUsage,
  ) {
    super(`model ${model}: ${message}`);
    this.name = "ProposerError";
  }
}

export interface Proposer {
  readonly info: ModelInfo;
  propose(context: ProposalContext): Promise<Proposal>;
}
