/**
 * Record and replay: a run recorded against a (scripted) provider is reproduced from
 * its records alone, with no server, no key and the same statistics.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildBucket } from "../../src/models/llm/build.ts";
import { LlmCallError, ReplayError } from "../../src/models/llm/errors.ts";
import { readRecords, requestHash } from "../../src/models/llm/records.ts";
import { ReplayExchange, ReplayLibrary } from "../../src/models/llm/replay.ts";
import { MockLlmServer } from "./support/mock-llm.ts";
import { KEY, liveProposers, pairBucket, runSearch } from "./support/setup.ts";

let server: MockLlmServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const dir = mkdtempSync(join(tmpdir(), "colt-replay-"));

async function recordedRun(file: string) {
  server = await new MockLlmServer({
    scripts: {
      "gpt-small": [
        { kind: "status", status: 500 },
        { kind: "status", status: 500 },
        { kind: "status", status: 500 },
        { kind: "answer", text: "no idea" },
        { kind: "status", status: 401, body: `{"error":{"message":"bad key ${KEY}"}}` },
      ],
    },
    nextModel: (_m, call) => (call % 3 === 0 ? "large" : "small"),
  }).start();
  const bucket = pairBucket(server.baseURL);
  const proposers = liveProposers(bucket, { recordTo: file });
  const run = await runSearch(proposers, 14);
  await server.stop();
  return { bucket, run };
}

const statsOf = (r: Awaited<ReturnType<typeof runSearch>>) =>
  r.result.models.map((m) => m.toJSON());

describe("record and replay", () => {
  it("records every exchange without the key and replays the run exactly", async () => {
    const file = join(dir, "a.jsonl");
    const { bucket, run } = await recordedRun(file);
    const text = readFileSync(file, "utf8");
    expect(text).not.toContain(KEY);
    const records = readRecords(file);
    const calls = run.result.models.reduce((n, m) => n + m.calls, 0);
    expect(records).toHaveLength(calls);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i));
    expect(records.filter((r) => r.error).map((r) => [r.error!.kind, r.error!.status])).toEqual([
      ["http", 500],
      ["http", 401],
    ]);
    expect(records.find((r) => r.error?.status === 401)!.error!.detail).toContain("[redacted]");
    expect(records[0].hash).toBe(requestHash(records[0].model, records[0].request));

    const library = new ReplayLibrary(records);
    const replayed = buildBucket(bucket, { mode: { kind: "replay", library, strict: true } });
    const again = await runSearch(replayed.proposers, 14);
    expect(again.result.expansions).toEqual(run.result.expansions);
    expect(again.session.trials.map((t) => t.trace)).toEqual(
      run.session.trials.map((t) => t.trace),
    );
    expect(statsOf(again)).toEqual(statsOf(run));
    expect(library.found).toBe(records.length);
    expect(library.missing).toBe(0);
    expect(library.unused).toBe(0);
  });

  it("stops a strict replay that diverges, and counts misses when re-measuring", async () => {
    const file = join(dir, "b.jsonl");
    const { bucket } = await recordedRun(file);
    const records = readRecords(file);
    // Another seed takes another path through the tree: its requests are not recorded.
    const strict = buildBucket(bucket, {
      mode: { kind: "replay", library: new ReplayLibrary(records), strict: true },
    });
    await expect(runSearch(strict.proposers, 14, 99)).rejects.toThrow(ReplayError);
    const library = new ReplayLibrary(records);
    const lenient = buildBucket(bucket, { mode: { kind: "replay", library, strict: false } });
    const r = await runSearch(lenient.proposers, 14, 99);
    expect(r.session.trials).toHaveLength(14);
    expect(library.missing).toBeGreaterThan(0);
    const errors = r.result.models.reduce((n, m) => n + m.errors, 0);
    expect(errors).toBeGreaterThanOrEqual(library.missing);
  });

  it("answers repeated identical requests in the recorded order", async () => {
    const request = { system: "s", prompt: "p" };
    const base = {
      v: 1 as const,
      model: "m",
      provider: "openai",
      modelId: "x",
      hash: requestHash("m", request),
      request,
    };
    const reply = (text: string) => ({
      text,
      tokensIn: 1,
      tokensOut: 1,
      latencyMs: 5,
      attempts: 1,
    });
    const library = new ReplayLibrary([
      { ...base, seq: 1, reply: reply("second") },
      { ...base, seq: 0, reply: reply("first") },
      {
        ...base,
        seq: 2,
        error: { kind: "timeout", detail: "no answer within 10 ms", attempts: 3, latencyMs: 30 },
      },
    ]);
    const ex = new ReplayExchange(library, { name: "m", provider: "openai", modelId: "x" }, true);
    expect((await ex.send(request)).text).toBe("first");
    expect((await ex.send(request)).text).toBe("second");
    const e = await ex.send(request).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LlmCallError);
    expect(e).toMatchObject({ kind: "timeout", attempts: 3, usage: { latencyMs: 30 } });
    await expect(ex.send(request)).rejects.toThrow(
      "replay diverged: call 4 of model 'm' is not in the records",
    );
  });
});
