/**
 * Replaying recorded LLM exchanges: a run reproduced offline, with no provider and no
 * key. A request is looked up by model name and the hash of its text; a request that was
 * sent several times gets its answers in the recorded order.
 *
 * A request that is not in the records means the run took another path than the
 * recorded one. In a strict replay (measurements replayed too) that is a ReplayError and
 * the run stops: it would no longer be a reproduction. When the run re-measures, times
 * differ, prompts quote them, and misses are expected; each is then counted as the
 * model's error ("replay-miss") and the search falls back as for any failed call.
 */
import { LlmCallError, ReplayError } from "./errors.ts";
import type { Exchange, ExchangeReply } from "./exchange.ts";
import type { LlmRequest } from "./prompt.ts";
import { requestHash, type LlmRecord, type ModelIdentity } from "./records.ts";

export class ReplayLibrary {
  private readonly queues = new Map<string, LlmRecord[]>();
  found = 0;
  missing = 0;

  constructor(records: readonly LlmRecord[]) {
    for (const r of [...records].sort((a, b) => a.seq - b.seq)) {
      const key = `${r.model}\u0000${r.hash}`;
      const q = this.queues.get(key) ?? [];
      q.push(r);
      this.queues.set(key, q);
    }
  }

  take(model: string, hash: string): LlmRecord | undefined {
    const r = this.queues.get(`${model}\u0000${hash}`)?.shift();
    if (r) this.found++;
    else this.missing++;
    return r;
  }

  /** Records never asked for (a complete strict replay leaves none). */
  get unused(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}

export class ReplayExchange implements Exchange {
  private calls = 0;

  constructor(
    private readonly library: ReplayLibrary,
    private readonly model: ModelIdentity,
    private readonly strict: boolean,
  ) {}

  async send(request: LlmRequest): Promise<ExchangeReply> {
    this.calls++;
    const record = this.library.take(this.model.name, requestHash(this.model.name, request));
    if (!record) {
      const what = `call ${this.calls} of model '${this.model.name}' is not in the records`;
      if (this.strict) {
        throw new ReplayError(
          `replay diverged: ${what} (the run took another path than the recorded one)`,
        );
      }
      throw new LlmCallError(this.model.name, "replay-miss", what, {
        provider: this.model.provider,
      });
    }
    if (record.error) {
      const e = record.error;
      throw new LlmCallError(this.model.name, e.kind, e.detail, {
        provider: this.model.provider,
        status: e.status,
        attempts: e.attempts,
        usage: { tokensIn: 0, tokensOut: 0, costUsd: 0, latencyMs: e.latencyMs },
      });
    }
    return record.reply!;
  }
}
