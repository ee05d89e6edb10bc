/**
 * What reaches the terminal and the run directory from outside COLT: LLM answers with
 * escape sequences or megabytes of text (from a real local server), bucket files with
 * credentials or alias bombs. The real CLI, compiler and measurement engine, matmul small.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTROL_CHARACTERS } from "../support/control.ts";
import { coltAsync, type CliResult } from "../support/cli.ts";
import { MockLlmServer } from "./support/mock-llm.ts";
import { calibratedCacheDir } from "../support/calibrated-cache.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-llm-hygiene-"));
const env = { COLT_CACHE_DIR: calibratedCacheDir("colt-llm-hygiene-cache-") };
const colt = (args: readonly string[]) => coltAsync(args, env);

const TITLE = "\u001b]0;pwned\u0007";
const HUGE = 5_000_000;

const bucketYaml = (url: string) => `models:
  - { name: small, provider: openai-compatible, model: m-small, baseURL: "${url}", params: 8B, maxRetries: 0 }
  - { name: large, provider: openai-compatible, model: m-large, baseURL: "${url}", params: 70B, maxRetries: 0 }
`;

let server: MockLlmServer;

beforeAll(async () => {
  const escaped = JSON.stringify({
    transformations: [`split C.i 8 -> io ii${TITLE}`],
    next_model: `large${TITLE}`,
    rationale: `\u001b[2J${TITLE}`,
  });
  server = await new MockLlmServer({
    scripts: {
      "m-small": [
        { kind: "answer", text: `${TITLE}\u001b[31mI cannot answer that\u009b2J` },
        { kind: "answer", text: "x".repeat(HUGE) },
      ],
      "m-large": [
        { kind: "answer", text: escaped },
        { kind: "answer", text: `{"transformations": [], "rationale": "${"y".repeat(HUGE)}"}` },
      ],
    },
    nextModel: (_m, call) => (call % 2 === 0 ? "large" : "small"),
  }).start();
});
afterAll(async () => {
  await server.stop();
});

describe("LLM answers at the terminal and in the records", () => {
  const run = join(dir, "run");
  let result: CliResult;

  beforeAll(async () => {
    const bucket = join(dir, "bucket.yaml");
    writeFileSync(bucket, bucketYaml(server.baseURL));
    result = await colt([
      ...["tune", "matmul", "--trials", "4", "--min-ms", "5"],
      ...["--models", bucket, "--out", run],
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(server.remaining("m-small") + server.remaining("m-large")).toBe(0);
  });

  it("shows an answer's escape sequences instead of sending them to the terminal", () => {
    expect(result.stdout + result.stderr).not.toMatch(CONTROL_CHARACTERS);
    expect(result.stderr).toContain(
      "\\u001b]0;pwned\\u0007\\u001b[31mI cannot answer that\\u009b2J",
    );
    expect(readFileSync(join(run, "report.html"), "utf8")).not.toMatch(CONTROL_CHARACTERS);
  });

  it("counts an answer over 64 KiB as the model's error and records only its start", () => {
    expect(result.stderr).toContain(
      "openai-compatible oversized: an answer of 5.0 MB is over the 64 KiB cap",
    );
    const summary = JSON.parse(readFileSync(join(run, "summary.json"), "utf8")) as {
      models: { name: string; errors: number; tokensIn: number }[];
    };
    for (const m of summary.models) {
      expect(m.errors).toBeGreaterThanOrEqual(2);
      expect(m.tokensIn).toBeGreaterThan(0);
    }
    const records = join(run, "llm-records.jsonl");
    expect(statSync(records).size).toBeLessThan(HUGE / 10);
    const cut = readFileSync(records, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { reply?: { text: string; truncatedBytes?: number } })
      .filter((rec) => rec.reply?.truncatedBytes !== undefined);
    expect(cut).toHaveLength(2);
    for (const rec of cut) {
      expect(rec.reply!.truncatedBytes).toBeGreaterThanOrEqual(HUGE);
      expect(rec.reply!.text.length).toBeLessThanOrEqual(200);
    }
  });

  it("replays the cut answers as the same errors", async () => {
    const r = await colt(["tune", "matmul", "--replay", run, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(run, "summary.json"), "utf8")) as { models: unknown };
    expect((JSON.parse(r.stdout) as { models: unknown }).models).toEqual(a.models);
  });
});

describe("bucket files the CLI refuses in one line", () => {
  const refuse = async (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    const out = join(dir, `${name}.out`);
    const r = await colt(["tune", "matmul", "--trials", "2", "--models", file, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("internal error");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(out, "bucket.json"))).toBe(false);
    return r.stderr;
  };

  it("refuses a password in the base URL and never prints or stores it", async () => {
    const stderr = await refuse("userinfo.yaml", bucketYaml("http://user:SECRET@127.0.0.1:9/v1"));
    expect(stderr).toContain("models[0].baseURL: must not hold a user name or password");
    expect(stderr).not.toContain("SECRET");
  });

  it("refuses a YAML alias bomb", async () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [prev, name] of ["ab", "bc", "cd", "de", "ef", "fg", "gh"].map((p) => [...p]))
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    const stderr = await refuse("bomb.yaml", `${levels.join("\n")}\nmodels: *h\n`);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/bomb\.yaml: YAML aliases expand to more than 100 copies/);
  });
});
