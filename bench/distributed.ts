/**
 * Measuring through workers: distinct small-matmul candidates measured per second with
 * one and with two `colt worker` processes (one core each), on a private redis-server.
 * Each phase has cold worker caches (builds count) and its own seed (its own jobs).
 *
 *   npm run bench:distributed -- [--candidates 24] [--min-ms 20]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseQueueUrl } from "../src/distributed/connection.ts";
import { machineKey, machineKind } from "../src/distributed/machine-key.ts";
import { QueueRunner } from "../src/distributed/queue-runner.ts";
import { detectCompiler } from "../src/measure/compiler.ts";
import { machineProfile } from "../src/measure/profile.ts";
import { instantiate } from "../src/workloads/registry.ts";
import { randomTrace } from "../test/schedule/random-traces.ts";
import { startColt, startRedis, type Watched } from "../test/support/redis.ts";

const { values } = parseArgs({
  options: {
    candidates: { type: "string", default: "24" },
    "min-ms": { type: "string", default: "20" },
  },
});
const count = Number(values.candidates);
const minMs = Number(values["min-ms"]);
const cache = mkdtempSync(join(tmpdir(), "colt-bench-distributed-"));
const env = { COLT_CACHE_DIR: cache };
const program = instantiate("matmul", "small");
const schedules = new Map<string, ReturnType<typeof randomTrace>["schedule"]>();
for (let seed = 1; schedules.size < count && seed < 10_000; seed++) {
  const s = randomTrace(program, seed, 6).schedule;
  schedules.set(s.text(), s);
}

const redis = await startRedis();
const compiler = detectCompiler();

async function phase(workers: number, seed: number): Promise<number> {
  const started: Watched[] = [];
  for (let i = 0; i < workers; i++) {
    const name = `bench-${workers}-${i}`;
    const w = startColt(
      ["worker", "--queue", redis.url, "--name", name, "--cores", String(i)],
      env,
    );
    started.push(w);
    await w.waitFor(new RegExp(`worker ${name}: machine key`), 300_000);
  }
  const profile = await machineProfile(compiler, cache);
  const runner = new QueueRunner({
    connection: parseQueueUrl(redis.url),
    machineKey: machineKey(machineKind(profile.cpuModel, compiler, 1)),
    settings: { workload: "matmul", size: "small", seed, threads: 1, minMs },
    waitForWorkerMs: 30_000,
  });
  try {
    await runner.awaitWorker(true);
    const t0 = performance.now();
    const results = await runner.measureAll([...schedules.values()]);
    const seconds = (performance.now() - t0) / 1000;
    const failed = results.filter((m) => m.status !== "ok" && m.status !== "wrong-result");
    if (failed.length > 0)
      throw new Error(`${failed.length} candidates failed: ${failed[0].detail}`);
    return results.length / seconds;
  } finally {
    await runner.close();
    for (const w of started) await w.stop();
  }
}

try {
  const one = await phase(1, 1);
  const two = await phase(2, 2);
  process.stdout.write(
    [
      `${schedules.size} distinct small-matmul candidates (random 6-step traces), --min-ms ${minMs}, cold worker caches`,
      "",
      "| workers (one core each) | candidates/s | speed-up |",
      "| ----------------------: | -----------: | -------: |",
      `| 1 | ${one.toFixed(2)} | 1.00x |`,
      `| 2 | ${two.toFixed(2)} | ${(two / one).toFixed(2)}x |`,
      "",
    ].join("\n"),
  );
} finally {
  await redis.server.stop();
}
