/**
 * The ONNX Runtime side of `colt compare`, run in its own process pinned to the cores
 * COLT's kernels run on: loads the model with the CPU provider, runs it once for its
 * outputs, then warm-up and timed repetitions up to a minimum time, and prints the times
 * as the C harness does (`{"times_ms":[...]}`).
 *
 *   node --import tsx/esm ort-worker.ts JOB.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { seededInput } from "../ir/random-inputs.ts";
import type { OrtJob } from "./ort-job.ts";
import { loadOrt } from "./ort-load.ts";

/** Same cap as the C harness: enough repetitions for a stable median at small sizes. */
const MAX_REPS = 1000;
const MIN_REPS = 3;

const job = JSON.parse(readFileSync(process.argv[2], "utf8")) as OrtJob;
const ort = await loadOrt();
const session = await ort.InferenceSession.create(job.modelFile, {
  executionProviders: ["cpu"],
  intraOpNumThreads: job.threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
});
const feeds = Object.fromEntries(
  job.feeds.map((f) => {
    const size = f.shape.reduce((n, d) => n * d, 1);
    return [f.name, new ort.Tensor("float32", seededInput(job.seed, f.inputIndex, size), f.shape)];
  }),
);

const first = await session.run(feeds);
const parts = job.outputs.map((name) => first[name].data as Float32Array);
const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
let offset = 0;
for (const p of parts) {
  out.set(p, offset);
  offset += p.length;
}
writeFileSync(job.outFile, new Uint8Array(out.buffer));

for (let i = 0; i < job.warmup; i++) await session.run(feeds);
const times: number[] = [];
let total = 0;
while (times.length < MAX_REPS && (times.length < MIN_REPS || total < job.minMs)) {
  const start = performance.now();
  await session.run(feeds);
  const ms = performance.now() - start;
  times.push(ms);
  total += ms;
}
await session.release();
process.stdout.write(JSON.stringify({ times_ms: times }) + "\n");
