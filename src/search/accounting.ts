/**
 * The proposers of a run and what they have spent: per-model statistics, calls, the
 * proposer cost (calls weighted by the model's size over the largest size), and the
 * budgets on calls, tokens and money that end proposing.
 */
import { ModelStats } from "./model-stats.ts";
import type { Proposer, ProposalContext, ProposalUsage } from "./proposer.ts";
import type { Budget } from "./trials.ts";

export class ProposerAccounting {
  /** The name of the largest model: course alteration calls it, proposer cost counts in its calls. */
  readonly largest: string;
  readonly sizes = new Map<string, number>();
  private readonly byName = new Map<string, Proposer>();
  private readonly stats = new Map<string, ModelStats>();
  /** Whether each model's most recent call failed outright (ProposerError). */
  private readonly lastCallFailed = new Map<string, boolean>();
  private callsMade = 0;
  private costSpent = 0;

  constructor(
    proposers: readonly Proposer[],
    private readonly budget: Budget,
  ) {
    if (proposers.length === 0) throw new Error("COLT needs at least one proposal model");
    for (const p of proposers) {
      if (this.byName.has(p.info.name)) throw new Error(`two models are named '${p.info.name}'`);
      this.byName.set(p.info.name, p);
      this.stats.set(p.info.name, new ModelStats(p.info));
      this.sizes.set(p.info.name, p.info.size);
    }
    this.largest = [...proposers].sort((a, b) => b.info.size - a.info.size)[0].info.name;
  }

  has(model: string): boolean {
    return this.byName.has(model);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  proposer(model: string): Proposer {
    return this.byName.get(model)!;
  }

  statsOf(model: string): ModelStats {
    return this.stats.get(model)!;
  }

  all(): ModelStats[] {
    return [...this.stats.values()];
  }

  /** Proposer calls so far, course alterations included. */
  get calls(): number {
    return this.callsMade;
  }

  /** Proposer cost so far, in calls of the largest model. */
  get cost(): number {
    return this.costSpent;
  }

  /** Counts one call of `model` before it is made. */
  charge(model: string, purpose: ProposalContext["purpose"]): void {
    const stats = this.statsOf(model);
    stats.calls++;
    if (purpose === "course-alteration") stats.courseAlterations++;
    this.callsMade++;
    this.costSpent += stats.info.size / this.sizes.get(this.largest)!;
  }

  /** What the call returned; `usage` also for a failed call, which still cost. */
  settle(model: string, failed: boolean, usage: ProposalUsage | undefined): void {
    if (usage) this.statsOf(model).addUsage(usage);
    this.lastCallFailed.set(model, failed);
  }

  /** Proposer calls, tokens and money left; once spent, the remaining trials measure the tree. */
  budgetLeft(): boolean {
    const all = this.all();
    const tokens = all.reduce((n, m) => n + m.tokensIn + m.tokensOut, 0);
    const usd = all.reduce((n, m) => n + m.costUsd, 0);
    return (
      this.callsMade < (this.budget.proposerCalls ?? Infinity) &&
      tokens < (this.budget.tokens ?? Infinity) &&
      usd < (this.budget.usd ?? Infinity)
    );
  }

  /**
   * Every model is down: each one was called and its latest call failed outright, so the
   * tree grew on random legal moves at the end of the run.
   */
  allFailing(): boolean {
    return this.names().every((m) => this.lastCallFailed.get(m) === true);
  }

  /**
   * Stands in for a next model not in the bucket: the best smoothed hit rate, smaller first
   * on ties; `except` is left out unless it is the only model.
   */
  bestHitRateModel(except?: string): string {
    const rate = (m: ModelStats) => (m.hits + 1) / (m.calls + 2);
    const others = this.all().filter((m) => m.info.name !== except);
    const pool = others.length > 0 ? others : this.all();
    return pool.sort((a, b) => rate(b) - rate(a) || a.info.size - b.info.size)[0].info.name;
  }
}
