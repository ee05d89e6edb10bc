import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BucketError,
  loadBucketFile,
  looksLikeKey,
  parseParams,
  resolveApiKeys,
  sizeOf,
  usesStructuredOutput,
  validateBucket,
} from "../../src/models/bucket.ts";
import { MAX_YAML_ALIASES } from "../../src/models/bucket-text.ts";
import { buildBucket, modelInfo } from "../../src/models/llm/build.ts";

const dir = mkdtempSync(join(tmpdir(), "colt-bucket-"));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

const YAML = `
models:
  - name: qwen-small
    provider: openai-compatible
    model: qwen2.5-coder:7b
    baseURL: http://localhost:11434/v1
    params: 7B
  - name: gpt
    provider: openai
    model: gpt-4o
    apiKeyEnv: OPENAI_API_KEY
    params: 2e11
    pricing: { inputPerMillion: 2.5, outputPerMillion: 10 }
    timeoutMs: 30000
    maxRetries: 4
bench: { afterFailures: 2 }
`;

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BucketError);
    return (e as Error).message;
  }
  throw new Error("expected a BucketError");
}

describe("model bucket", () => {
  it("reads YAML with defaults and sizes as text or numbers", () => {
    const b = loadBucketFile(write("b.yaml", YAML));
    expect(b.models.map((m) => m.name)).toEqual(["qwen-small", "gpt"]);
    expect(b.models.map(sizeOf)).toEqual([7e9, 2e11]);
    expect(b.models[0]).toMatchObject({ timeoutMs: 60_000, maxRetries: 3, maxOutputTokens: 1024 });
    expect(b.models[1]).toMatchObject({ timeoutMs: 30_000, maxRetries: 4 });
    expect(b.bench).toEqual({ afterFailures: 2, calls: 8, maxCalls: 128 });
    expect(b.prompt.maxLegalMoves).toBe(60);
    expect(usesStructuredOutput(b.models[0])).toBe(false);
    expect(usesStructuredOutput(b.models[1])).toBe(true);
    expect(modelInfo(b.models[0])).toMatchObject({ kind: "llm", size: 7e9 });
    expect(modelInfo(b.models[0]).description).toContain("http://localhost:11434/v1");
  });

  it("reads the same bucket as JSON", () => {
    const json = {
      models: [
        {
          name: "a",
          provider: "anthropic",
          model: "claude-haiku-4-5",
          apiKeyEnv: "K",
          relativeCost: 1,
        },
        {
          name: "b",
          provider: "anthropic",
          model: "claude-opus-4-5",
          apiKeyEnv: "K",
          relativeCost: 20,
        },
      ],
    };
    const b = loadBucketFile(write("b.json", JSON.stringify(json)));
    expect(b.models.map(sizeOf)).toEqual([1, 20]);
  });

  it("parses parameter counts", () => {
    expect(parseParams("8B")).toBe(8e9);
    expect(parseParams("1.5b")).toBe(1.5e9);
    expect(parseParams("500M")).toBe(5e8);
    expect(parseParams(3e9)).toBe(3e9);
    expect(parseParams("eight")).toBeNaN();
  });

  it("names the field of every problem", () => {
    const bad = {
      models: [
        { name: "a", provider: "openai", model: "m", apiKeyEnv: "K", params: "8B" },
        { name: "b", provider: "gemini", model: "m", params: "8B" },
        { name: "c", provider: "openai-compatible", model: "m", params: 2 },
        { name: "d", provider: "openai", model: "m", params: "huge", apiKeyEnv: "K" },
      ],
    };
    const msg = errorOf(() => validateBucket(bad, "b.yaml"));
    expect(msg).toContain("b.yaml: invalid model bucket");
    expect(msg).toContain(
      "models[1].provider: expected one of openai, anthropic, openai-compatible",
    );
    expect(msg).toContain("models[2].baseURL: required for provider openai-compatible");
    expect(msg).toContain("models[3].params: expected a positive parameter count");
  });

  it("refuses duplicate names and sizes on two scales", () => {
    const m = (name: string, size: object) => ({
      name,
      provider: "openai-compatible",
      model: "m",
      baseURL: "http://localhost:8000/v1",
      ...size,
    });
    const msg = errorOf(() =>
      validateBucket({ models: [m("a", { params: 1e9 }), m("a", { relativeCost: 2 })] }, "f"),
    );
    expect(msg).toContain("models[1].name: 'a' is used twice");
    expect(msg).toContain("models: use params for every model or relativeCost for every model");
    expect(errorOf(() => validateBucket({ models: [] }, "f"))).toContain(
      "models: at least one model",
    );
  });

  it("requires apiKeyEnv for hosted providers and exactly one size", () => {
    const msg = errorOf(() =>
      validateBucket(
        {
          models: [
            { name: "a", provider: "anthropic", model: "claude", params: 1e9, relativeCost: 2 },
          ],
        },
        "f",
      ),
    );
    expect(msg).toContain("models[0].apiKeyEnv: required for provider anthropic");
    expect(msg).toContain("models[0].params: give exactly one of params");
  });

  it("refuses a key written into the file and never repeats it", () => {
    const key = "sk-live-abcdefghijklmnop";
    const file = write(
      "leak.yaml",
      `models:\n  - { name: a, provider: openai, model: m, params: 8B, apiKey: ${key} }\n`,
    );
    const msg = errorOf(() => loadBucketFile(file));
    expect(msg).toContain("models[0]: unknown field 'apiKey'");
    expect(msg).toContain("put the key in an environment variable");
    expect(msg).not.toContain(key);
    const asEnv = errorOf(() =>
      validateBucket(
        {
          models: [
            {
              name: "a",
              provider: "openai",
              model: "m",
              params: 1,
              apiKeyEnv: key.replace(/-/g, "+"),
            },
          ],
        },
        "f",
      ),
    );
    expect(asEnv).toContain("models[0].apiKeyEnv: must be the NAME of an environment variable");
    expect(asEnv).not.toContain("abcdefghijklmnop");
  });

  it("says which file is not valid YAML", () => {
    const msg = errorOf(() => loadBucketFile(write("broken.yaml", "models: [\n  - name: a\n")));
    expect(msg).toMatch(/broken\.yaml: not valid YAML/);
    expect(errorOf(() => loadBucketFile(join(dir, "missing.yaml")))).toMatch(/cannot be read/);
  });

  it("refuses a password in a base URL without repeating it", () => {
    const file = write(
      "userinfo.yaml",
      `models:\n  - { name: a, provider: openai-compatible, model: m, params: 1B, baseURL: "http://user:SECRET@127.0.0.1:9/v1" }\n`,
    );
    const msg = errorOf(() => loadBucketFile(file));
    expect(msg).toContain("models[0].baseURL: must not hold a user name or password");
    expect(msg).not.toContain("SECRET");
    expect(msg).not.toContain("user:SECRET");
  });

  it("refuses a key pasted into apiKeyEnv without repeating it", () => {
    for (const pasted of [
      "sk-proj-AbC123def456GHI789",
      "AbC123def456GHI789jklMNO",
      "a".repeat(40),
    ]) {
      const msg = errorOf(() =>
        validateBucket(
          { models: [{ name: "a", provider: "openai", model: "m", params: 1, apiKeyEnv: pasted }] },
          "f",
        ),
      );
      expect(msg).toBe(
        "f: invalid model bucket:\n  models[0].apiKeyEnv: must be the NAME of an environment variable (letters, digits, _), e.g. OPENAI_API_KEY, not the key itself (the value given is not repeated)",
      );
    }
    for (const name of ["OPENAI_API_KEY", "MY_GATEWAY_TOKEN_2", "vllm_key"])
      expect(looksLikeKey(name)).toBe(false);
  });

  it("gives a YAML syntax error's line and column without quoting the line", () => {
    const file = write(
      "syntax.yaml",
      "models:\n  - name: a\n    provider: openai\n    apiKey: sk-SECRETVALUE: x\n",
    );
    expect(errorOf(() => loadBucketFile(file))).toBe(
      `${file}: not valid YAML at line 4, column 13: Nested mappings are not allowed in compact mappings`,
    );
    const json = write("syntax.json", '{"models": [{"name": "a", "apiKey": sk-SECRETVALUE}]}');
    const jsonMsg = errorOf(() => loadBucketFile(json));
    expect(jsonMsg).toMatch(/syntax\.json: not valid JSON/);
    expect(jsonMsg).not.toContain("SECRET");
    expect(errorOf(() => loadBucketFile(write("cut.json", '{\n  "models": [\n  }')))).toMatch(
      /cut\.json: not valid JSON at line 3, column 3: /,
    );
  });

  it("refuses a YAML alias bomb in one line", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [prev, name] of ["ab", "bc", "cd", "de", "ef", "fg", "gh"].map((p) => [...p]))
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
    const file = write("bomb.yaml", `${levels.join("\n")}\nmodels: *h\n`);
    expect(errorOf(() => loadBucketFile(file))).toBe(
      `${file}: YAML aliases expand to more than ${MAX_YAML_ALIASES} copies; write the values out instead of nesting aliases`,
    );
    const shared = write(
      "anchors.yaml",
      `p: &p { inputPerMillion: 1, outputPerMillion: 2 }\nmodels:\n  - { name: a, provider: openai-compatible, model: m, baseURL: "http://h/v1", params: 1B, pricing: *p }\n  - { name: b, provider: openai-compatible, model: m, baseURL: "http://h/v1", params: 8B, pricing: *p }\n`,
    );
    expect(() => loadBucketFile(shared)).toThrow(/unknown field 'p'/);
  });

  it("refuses a key variable holding a line break without showing it", () => {
    const b = loadBucketFile(write("k2.yaml", YAML));
    const msg = errorOf(() => resolveApiKeys(b, { OPENAI_API_KEY: "sk-SEC\nRET" }));
    expect(msg).toContain("environment variable OPENAI_API_KEY (its apiKeyEnv) holds characters");
    expect(msg).not.toContain("SEC");
  });

  it("names a missing key variable without any value", () => {
    const b = loadBucketFile(write("k.yaml", YAML));
    const msg = errorOf(() => resolveApiKeys(b, {}));
    expect(msg).toBe("model 'gpt': environment variable OPENAI_API_KEY (its apiKeyEnv) is not set");
    expect(() =>
      buildBucket(b, { mode: { kind: "live", env: { OPENAI_API_KEY: " " }, seed: 1 } }),
    ).toThrow(/OPENAI_API_KEY/);
    const keys = resolveApiKeys(b, { OPENAI_API_KEY: "sk-x" });
    expect(keys.get("gpt")).toBe("sk-x");
    expect(keys.get("qwen-small")).toBeUndefined();
  });
});

describe("example buckets", () => {
  const examples = fileURLToPath(new URL("../../examples/models/", import.meta.url));
  it.each(readdirSync(examples))("%s is valid", (file) => {
    const b = loadBucketFile(join(examples, file));
    expect(b.models.length).toBeGreaterThan(1);
  });
});
