/**
 * Benching: a model whose calls keep failing (outages: HTTP errors after retries,
 * timeouts, network) is skipped for a while. While benched its proposer fails at once,
 * without a request, so a run does not wait on timeouts and retries of a model that is
 * down; the search counts the fast failure as the model's error and routes the child to
 * another model, and prompts tell the other models not to name it.
 *
 * "A while" is counted in model calls of the whole run, not in seconds, so a run and
 * its replay bench the same models at the same calls. A bench lasts `calls` calls,
 * doubling each time the model fails again right after one (up to `maxCalls`); one good
 * answer clears the record. Bad answers (unreadable JSON) do not bench: the model is up,
 * and its error count already tells the policy.
 */
import type { Proposal, ProposalContext, Proposer } from "../../search/proposer.ts";
import { isOutage, LlmCallError } from "./errors.ts";

export interface BenchPolicy {
  readonly afterFailures: number;
  readonly calls: number;
  readonly maxCalls: number;
}

interface Health {
  failures: number;
  benches: number;
  until: number;
}

export interface BenchEvent {
  readonly model: string;
  readonly failures: number;
  /** The run's model-call count at which the bench ends. */
  readonly until: number;
}

export class BenchBoard {
  private readonly health = new Map<string, Health>();

  constructor(
    private readonly policy: BenchPolicy,
    private readonly onBench?: (e: BenchEvent) => void,
  ) {}

  private of(model: string): Health {
    let h = this.health.get(model);
    if (!h) {
      h = { failures: 0, benches: 0, until: -1 };
      this.health.set(model, h);
    }
    return h;
  }

  isBenched(model: string, call: number): boolean {
    return call < this.of(model).until;
  }

  /** Models benched at this call, by name. */
  benched(call: number): string[] {
    return [...this.health.entries()]
      .filter(([, h]) => call < h.until)
      .map(([m]) => m)
      .sort();
  }

  benchedUntil(model: string): number {
    return this.of(model).until;
  }

  succeeded(model: string): void {
    const h = this.of(model);
    h.failures = 0;
    h.benches = 0;
  }

  failed(model: string, call: number): void {
    const h = this.of(model);
    h.failures++;
    if (h.failures < this.policy.afterFailures) return;
    const length = Math.min(this.policy.maxCalls, this.policy.calls * 2 ** h.benches);
    h.benches++;
    h.until = call + length;
    this.onBench?.({ model, failures: h.failures, until: h.until });
  }
}

export class BenchingProposer implements Proposer {
  constructor(
    private readonly inner: Proposer,
    private readonly board: BenchBoard,
    private readonly provider: string,
  ) {}

  get info() {
    return this.inner.info;
  }

  async propose(ctx: ProposalContext): Promise<Proposal> {
    const name = this.info.name;
    const call = ctx.budget.proposerCalls;
    if (this.board.isBenched(name, call)) {
      throw new LlmCallError(
        name,
        "benched",
        `failing repeatedly; skipped until model call ${this.board.benchedUntil(name)}`,
        { provider: this.provider, attempts: 0 },
      );
    }
    try {
      const p = await this.inner.propose(ctx);
      this.board.succeeded(name);
      return p;
    } catch (e) {
      if (e instanceof LlmCallError) {
        if (isOutage(e.kind)) this.board.failed(name, call);
        else this.board.succeeded(name);
      }
      throw e;
    }
  }
}
