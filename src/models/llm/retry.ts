/**
 * Retries with exponential backoff and jitter. Transient failures (429, 5xx, network,
 * timeouts, unreadable envelopes) are retried up to maxRetries times; a server's
 * Retry-After is honoured (it is a floor for the delay), and one that asks for longer
 * than maxRetryAfterMs ends the call at once: the model is down for longer than a call
 * should wait, and benching (bench.ts) takes over. Jitter draws from a seeded Random, so
 * the delays of a run are reproducible.
 */
import type { Random } from "../../util/random.ts";
import type { FailureKind } from "./errors.ts";

export interface RetryPolicy {
  readonly maxRetries: number;
  /** Delay before the first retry, before jitter; doubles with each retry. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: Omit<RetryPolicy, "maxRetries"> = {
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

/** One failed attempt, classified. */
export class AttemptError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "AttemptError";
  }
}

/** The call failed: the last attempt's error and how many attempts were made. */
export class RetryFailure extends Error {
  constructor(
    readonly last: AttemptError,
    readonly attempts: number,
    /** Why each attempt failed ("HTTP 429", "timeout", ...), in order. */
    readonly history: readonly string[],
    reason: string,
  ) {
    super(`${last.message}${reason ? ` (${reason})` : ""}`);
    this.name = "RetryFailure";
  }
}

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** "Equal jitter": half the exponential delay fixed, half random. */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: Random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return exp / 2 + (random.next() * exp) / 2;
}

/** Milliseconds to wait from `retry-after-ms` (OpenAI) or `retry-after` (seconds or a date). */
export function parseRetryAfter(
  headers: Readonly<Record<string, string>> | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const ms = Number(lower.get("retry-after-ms"));
  if (lower.has("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return ms;
  const value = lower.get("retry-after");
  if (value === undefined || value === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describe(e: AttemptError): string {
  return e.status !== undefined ? `HTTP ${e.status}` : e.kind;
}

/** Runs `attempt` until it succeeds, fails for good, or retries run out. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  random: Random,
  sleep: Sleep = realSleep,
): Promise<{ value: T; attempts: number }> {
  const history: string[] = [];
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(), attempts: n };
    } catch (e) {
      if (!(e instanceof AttemptError)) throw e;
      history.push(describe(e));
      if (!e.retryable) throw new RetryFailure(e, n, history, "");
      if (n > policy.maxRetries)
        throw new RetryFailure(e, n, history, `gave up after ${policy.maxRetries} retries`);
      const after = e.retryAfterMs;
      if (after !== undefined && after > policy.maxRetryAfterMs) {
        const s = Math.round(after / 1000);
        throw new RetryFailure(e, n, history, `the server asked to retry after ${s} s`);
      }
      await sleep(Math.max(after ?? 0, backoffDelayMs(n - 1, policy, random)));
    }
  }
}
