/**
 * A queue URL where no Redis answers: the tuner gives up after its wait with one line that
 * names the connection error, and ends (it used to hang closing its event reader); a worker
 * says once that Redis does not answer, keeps trying, and stops at SIGTERM.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, startColt } from "../support/redis.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-silent-redis-");
const env = { COLT_CACHE_DIR: cache, COLT_DB: join(cache, "tuning.db") };

describe("a queue where no Redis answers", () => {
  it("ends colt tune after the wait with the connection error in one line", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const tune = startColt(["tune", "matmul", "--queue", url, "--wait-for-worker", "1"], env);
    const { code } = await tune.exited;
    expect(code).toBe(1);
    expect(tune.out).toMatch(
      /^colt: no worker for machine key \w+ on redis:\/\/127\.0\.0\.1:\d+ after 1 s \(Redis did not answer \(connect ECONNREFUSED [^)]*\)\); start 'colt worker/m,
    );
    expect(tune.out).not.toMatch(/\n\s+at /);
  }, 60_000);

  it("has colt worker warn once while it keeps trying, and stop at SIGTERM", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const worker = startColt(["worker", "--queue", url, "--name", "w1"], env);
    await worker.waitFor(/w1: warning: connect ECONNREFUSED [\d.:]+; still trying/, 60_000);
    // ioredis retries several times a second; the warning is not repeated for each retry.
    await new Promise((r) => setTimeout(r, 1500));
    await worker.stop("SIGTERM");
    expect(worker.out.match(/warning:/g)).toHaveLength(1);
    expect(worker.out).toMatch(/worker w1: stopped before redis:\/\/127\.0\.0\.1:\d+ answered/);
    expect((await worker.exited).code).toBe(0);
  }, 60_000);
});
