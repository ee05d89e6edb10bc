/**
 * Redis restarted in the middle of a run: with an append-only file, queued and finished
 * jobs survive, the tuner and the worker reconnect by themselves and the run completes.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { freePort, startColt, startRedis, type Watched } from "../support/redis.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const cache = calibratedCacheDir("colt-redis-restart-");
const env = { COLT_CACHE_DIR: cache, COLT_DB: join(cache, "tuning.db") };
const started: Watched[] = [];

afterAll(async () => {
  for (const p of started) await p.stop("SIGKILL");
});

it("completes a run across a Redis restart (append-only persistence)", async () => {
  const aof = { dir: mkdtempSync(join(tmpdir(), "colt-redis-aof-")), port: await freePort() };
  let redis = await startRedis(undefined, aof);
  started.push(redis.server);
  const worker = startColt(["worker", "--queue", redis.url, "--name", "solo", "--cores", "1"], env);
  started.push(worker);
  await worker.waitFor(/worker solo: machine key/, 120_000);
  const tuner = startColt(
    ["tune", "matmul", "--queue", redis.url, "--trials", "10", "--min-ms", "20", "--no-reuse"],
    env,
  );
  started.push(tuner);
  await tuner.waitFor(/trial 3\/10/, 120_000);
  await redis.server.stop("SIGTERM");
  redis = await startRedis(undefined, aof);
  started.push(redis.server);
  const { code } = await tuner.exited;
  expect(code, tuner.out).toBe(0);
  expect(tuner.out).toMatch(/10 trials in/);
}, 180_000);
