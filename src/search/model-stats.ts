/** Per-model accounting: calls, hits, errors, course alterations, tokens, cost, latency. */
import type { ModelInfo, ModelStatsView, ProposalUsage } from "./proposer.ts";

export class ModelStats {
  calls = 0;
  hits = 0;
  errors = 0;
  courseAlterations = 0;
  /** Course alterations this model's regressions triggered (calls of the largest model). */
  alterationsCaused = 0;
  tokensIn = 0;
  tokensOut = 0;
  costUsd = 0;
  latencyMs = 0;

  constructor(readonly info: ModelInfo) {}

  addUsage(u: ProposalUsage): void {
    this.tokensIn += u.tokensIn;
    this.tokensOut += u.tokensOut;
    this.costUsd += u.costUsd;
    this.latencyMs += u.latencyMs;
  }

  view(): ModelStatsView {
    return {
      name: this.info.name,
      kind: this.info.kind,
      size: this.info.size,
      calls: this.calls,
      hits: this.hits,
      errors: this.errors,
      courseAlterations: this.courseAlterations,
      alterationsCaused: this.alterationsCaused,
      costUsd: this.costUsd,
    };
  }

  toJSON() {
    return {
      ...this.view(),
      hitRate: this.calls > 0 ? this.hits / this.calls : 0,
      tokensIn: this.tokensIn,
      tokensOut: this.tokensOut,
      latencyMs: this.latencyMs,
    };
  }
}
