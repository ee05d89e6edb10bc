import { describe, expect, it } from "vitest";
import {
  AttemptError,
  backoffDelayMs,
  parseRetryAfter,
  RetryFailure,
  withRetries,
  type RetryPolicy,
} from "../../src/models/llm/retry.ts";
import { Random } from "../../src/util/random.ts";

const policy: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxRetryAfterMs: 5000,
};

/** Runs a scripted sequence of attempt outcomes, recording the waits. */
async function run(outcomes: (AttemptError | string)[], p: RetryPolicy = policy, seed = 1) {
  const waits: number[] = [];
  let i = 0;
  const attempt = async () => {
    const o = outcomes[i++];
    if (o instanceof AttemptError) throw o;
    return o;
  };
  try {
    const r = await withRetries(attempt, p, new Random(seed), async (ms) => {
      waits.push(ms);
    });
    return { ...r, waits, error: undefined };
  } catch (e) {
    return { value: undefined, attempts: i, waits, error: e as RetryFailure };
  }
}

const http = (status: number, retryAfterMs?: number) =>
  new AttemptError("http", `HTTP ${status}`, status === 429 || status >= 500, status, retryAfterMs);

describe("retries", () => {
  it("backs off exponentially with seeded jitter", () => {
    const r = new Random(3);
    const d = [0, 1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, r));
    [100, 200, 400, 800, 1000].forEach((exp, n) => {
      expect(d[n]).toBeGreaterThanOrEqual(exp / 2);
      expect(d[n]).toBeLessThanOrEqual(exp);
    });
    const again = new Random(3);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelayMs(n, policy, again))).toEqual(d);
  });

  it("retries 429 and 5xx, honouring Retry-After as a floor", async () => {
    const r = await run([http(429, 2000), http(503), "ok"]);
    expect(r.value).toBe("ok");
    expect(r.attempts).toBe(3);
    expect(r.waits[0]).toBe(2000);
    expect(r.waits[1]).toBeGreaterThanOrEqual(100);
    expect(r.waits[1]).toBeLessThanOrEqual(200);
  });

  it("gives up after maxRetries, with the history of attempts", async () => {
    const r = await run([http(500), http(502), http(500), http(500), "never"]);
    expect(r.error).toBeInstanceOf(RetryFailure);
    expect(r.error!.attempts).toBe(4);
    expect(r.error!.history).toEqual(["HTTP 500", "HTTP 502", "HTTP 500", "HTTP 500"]);
    expect(r.error!.message).toContain("gave up after 3 retries");
    expect(r.waits).toHaveLength(3);
  });

  it("does not retry what cannot succeed", async () => {
    const r = await run([http(401), "never"]);
    expect(r.error!.attempts).toBe(1);
    expect(r.error!.last.status).toBe(401);
    expect(r.waits).toEqual([]);
  });

  it("stops at once when the server asks to wait longer than the limit", async () => {
    const r = await run([http(429, 3_600_000), "never"]);
    expect(r.error!.attempts).toBe(1);
    expect(r.error!.message).toContain("asked to retry after 3600 s");
  });

  it("lets other errors through untouched", async () => {
    await expect(
      withRetries(
        async () => {
          throw new RangeError("bug");
        },
        policy,
        new Random(1),
      ),
    ).rejects.toThrow(RangeError);
  });

  it("reads Retry-After in its three forms", () => {
    expect(parseRetryAfter({ "Retry-After": "2" })).toBe(2000);
    expect(parseRetryAfter({ "retry-after-ms": "150", "retry-after": "9" })).toBe(150);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:05 GMT" }, now)).toBe(5000);
    expect(parseRetryAfter({ "retry-after": "soon" })).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
