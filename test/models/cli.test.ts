/**
 * `colt tune --models` and `--replay` end to end: the real CLI, compiler and measurement
 * engine on matmul small, with LLMs served by a scripted local server.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coltAsync, type CliResult } from "../support/cli.ts";
import { MockLlmServer } from "./support/mock-llm.ts";
import { KEY, KEY_ENV } from "./support/setup.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-llm-cli-"));
const baseEnv = { COLT_CACHE_DIR: calibratedCacheDir("colt-llm-cli-cache-") };

/** The real CLI; the key reaches it only when a test passes it. */
function colt(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return coltAsync(args, env, [KEY_ENV]);
}

function bucketYaml(url: string): string {
  return `# a hosted-style pair, served locally by the test
models:
  - name: small
    provider: openai
    model: gpt-small
    baseURL: ${url}
    apiKeyEnv: ${KEY_ENV}
    params: 8B
    pricing: { inputPerMillion: 0.5, outputPerMillion: 2 }
    timeoutMs: 2000
    maxRetries: 2
  - name: large
    provider: anthropic
    model: claude-haiku-4-5
    baseURL: ${url}
    apiKeyEnv: ${KEY_ENV}
    params: 70B
    pricing: { inputPerMillion: 3, outputPerMillion: 15 }
    timeoutMs: 2000
    maxRetries: 2
`;
}

function filesUnder(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(d, e.name)) : [join(d, e.name)],
  );
}

interface Summary {
  trials: number;
  verified: boolean;
  bestTrace: string;
  allModelsFailing: boolean;
  models: Record<string, number | string>[];
  llm: {
    recorded: number;
    replay?: { found: number; missing: number; unused: number; measurements: string };
  };
}

let server: MockLlmServer;
let bucketFile: string;
const run1 = join(dir, "run1");

beforeAll(async () => {
  server = await new MockLlmServer({
    scripts: {
      "gpt-small": [
        {
          kind: "status",
          status: 401,
          body: `{"error":{"message":"Incorrect API key provided: ${KEY}"}}`,
        },
        { kind: "status", status: 500 },
        { kind: "default", wrap: "prose" },
        { kind: "answer", text: '{"transformations": ["vectorise C.i"], "next_model": "small"}' },
      ],
      "claude-haiku-4-5": [
        { kind: "default", wrap: "fence" },
        { kind: "default", nextModel: "gpt-5" },
      ],
    },
    nextModel: (_m, call) => (call % 2 === 0 ? "large" : "small"),
  }).start();
  bucketFile = join(dir, "bucket.yaml");
  writeFileSync(bucketFile, bucketYaml(server.baseURL));
});
afterAll(async () => {
  await server.stop();
});

describe("colt tune with LLM models", () => {
  it("tunes with a bucket, accounts per model and never writes the key", async () => {
    const r = await colt(
      [
        "tune",
        "matmul",
        "--trials",
        "5",
        "--min-ms",
        "5",
        "--models",
        bucketFile,
        "--out",
        run1,
        "--json",
      ],
      { ...baseEnv, [KEY_ENV]: KEY },
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.trials).toBe(5);
    expect(s.verified).toBe(true);
    expect(s.allModelsFailing).toBe(false);
    const [small, large] = s.models;
    expect(small).toMatchObject({ name: "small", kind: "llm", size: 8e9, errors: 2 });
    expect(large).toMatchObject({ name: "large", kind: "llm", size: 70e9, errors: 1 });
    for (const m of s.models) {
      expect(m.tokensIn).toBe(
        100 * server.answered.get(m.name === "small" ? "gpt-small" : "claude-haiku-4-5")!,
      );
      expect(m.tokensOut).toBeGreaterThan(0);
      expect(m.costUsd).toBeGreaterThan(0);
      expect(m.latencyMs).toBeGreaterThan(0);
    }
    expect(s.llm.recorded).toBe(Number(small.calls) + Number(large.calls));
    expect(r.stderr).toContain(
      "colt: warning: model small: openai http 401: Incorrect API key provided: [redacted]",
    );
    // The key is nowhere: not in the output, not in any file of the run directory.
    expect(r.stdout + r.stderr).not.toContain(KEY);
    const files = filesUnder(run1)
      .map((f) => f.slice(run1.length + 1))
      .sort();
    expect(files).toEqual(
      expect.arrayContaining([
        "bucket.json",
        "llm-records.jsonl",
        "profile.json",
        "run.json",
        "summary.json",
        "trials.jsonl",
      ]),
    );
    for (const f of filesUnder(run1)) expect(readFileSync(f, "utf8"), f).not.toContain(KEY);
    expect(readFileSync(join(run1, "bucket.json"), "utf8")).toContain(`"apiKeyEnv": "${KEY_ENV}"`);
  });

  it("replays the run offline: no request, no key, the same trials and statistics", async () => {
    const requests = server.requests.length;
    const run2 = join(dir, "run2");
    const r = await colt(["tune", "matmul", "--replay", run1, "--out", run2, "--json"], baseEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(server.requests.length).toBe(requests);
    const a = JSON.parse(readFileSync(join(run1, "summary.json"), "utf8")) as Summary;
    const b = JSON.parse(r.stdout) as Summary;
    expect(b.models).toEqual(a.models);
    expect(b.bestTrace).toBe(a.bestTrace);
    expect(b.llm.replay).toMatchObject({
      found: a.llm.recorded,
      missing: 0,
      unused: 0,
      measurements: "replayed",
    });
    const trials = (d: string) =>
      readFileSync(join(d, "trials.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => {
          const t = JSON.parse(l) as Record<string, unknown>;
          delete t.elapsedMs;
          return t;
        });
    expect(trials(run2)).toEqual(trials(run1));
    expect(readFileSync(join(run2, "llm-records.jsonl"), "utf8")).toBe(
      readFileSync(join(run1, "llm-records.jsonl"), "utf8"),
    );
    const c = await colt(["tune", "matmul", "--replay", run1, "--seed", "2"], baseEnv);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain(`--replay ${run1}: the recorded run used --seed 1, not 2`);
  });

  it("says which variable is missing and which field is wrong", async () => {
    const r = await colt(["tune", "matmul", "--trials", "2", "--models", bucketFile], baseEnv);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `colt: model 'small': environment variable ${KEY_ENV} (its apiKeyEnv) is not set`,
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      bucketYaml(server.baseURL).replace("provider: anthropic", "provider: claude"),
    );
    const b = await colt(["tune", "matmul", "--models", bad], { ...baseEnv, [KEY_ENV]: KEY });
    expect(b.code).toBe(1);
    expect(b.stderr).toContain(
      "models[1].provider: expected one of openai, anthropic, openai-compatible",
    );
    expect(b.stderr).not.toContain(KEY);
  });
});
