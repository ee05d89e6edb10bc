/**
 * The model bucket: which LLMs take part in a run, read from a YAML or JSON file and
 * validated with a schema whose errors name the field (`models[1].provider: ...`).
 * Keys are never in the file: each model names the environment variable that holds its
 * key (`apiKeyEnv`), read only when the bucket is turned into proposers.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { BucketError } from "./bucket-error.ts";
import { parseBucketText } from "./bucket-text.ts";

export { BucketError };

export const PROVIDERS = ["openai", "anthropic", "openai-compatible"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KEY_PREFIX = /^(sk|pk|rk|gsk|xai|hf|ghp|gho|ghs|github_pat|glpat)[-_]|^AIza/;

/**
 * Whether an apiKeyEnv value looks like a key pasted in place of a variable's name:
 * a known key prefix, or long and mixing cases and digits, or long hex. Variable names
 * are UPPER_SNAKE in practice, so this does not refuse real ones.
 */
export function looksLikeKey(value: string): boolean {
  if (value.length < 20) return false;
  const mixed = /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
  return KEY_PREFIX.test(value) || mixed || /^[0-9a-f]{32,}$/i.test(value);
}

const ENV_NAME_ONLY =
  "must be the NAME of an environment variable (letters, digits, _), e.g. OPENAI_API_KEY, not the key itself (the value given is not repeated)";
const SIZE_TEXT = /^(\d+(?:\.\d+)?)\s*([KMBT])$/i;
const SIZE_UNITS: Readonly<Record<string, number>> = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 };

/** "8B" → 8e9, "500M" → 5e8; numbers pass through. */
export function parseParams(value: number | string): number {
  if (typeof value === "number") return value;
  const m = SIZE_TEXT.exec(value.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * SIZE_UNITS[m[2].toUpperCase()];
}

const params = z
  .union([z.number(), z.string()], {
    error: () => 'expected a parameter count, e.g. 8e9 or "8B"',
  })
  .transform((v, ctx) => {
    const n = parseParams(v);
    if (!(n > 0) || !Number.isFinite(n)) {
      ctx.addIssue({
        code: "custom",
        message: 'expected a positive parameter count, e.g. 8e9 or "8B", "1.5B", "500M"',
      });
      return z.NEVER;
    }
    return n;
  });

const pricing = z
  .object({
    /** USD per million input (prompt) tokens. */
    inputPerMillion: z.number().nonnegative(),
    /** USD per million output (completion) tokens. */
    outputPerMillion: z.number().nonnegative(),
  })
  .strict();

const modelSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "letters, digits and . _ : / - only"),
    provider: z.enum(PROVIDERS, {
      error: () => `expected one of ${PROVIDERS.join(", ")}`,
    }),
    model: z.string().min(1, "the provider's model id, e.g. gpt-4o-mini or llama3.1:8b"),
    baseURL: z
      .url({ protocol: /^https?$/, error: () => "expected an http(s) URL" })
      .refine(
        (url) =>
          !URL.canParse(url) || (new URL(url).username === "" && new URL(url).password === ""),
        // Never repeat the URL: the part refused is a password.
        "must not hold a user name or password (user:pass@): a key goes in an environment variable named by apiKeyEnv",
      )
      .optional(),
    apiKeyEnv: z
      .string()
      .refine((v) => ENV_NAME.test(v) && !looksLikeKey(v), ENV_NAME_ONLY)
      .optional(),
    params: params.optional(),
    relativeCost: z.number().positive().optional(),
    pricing: pricing.optional(),
    timeoutMs: z.number().int().positive().default(60_000),
    maxRetries: z.number().int().min(0).max(10).default(3),
    maxOutputTokens: z.number().int().positive().default(1024),
    temperature: z.number().min(0).max(2).optional(),
    /** Send a JSON schema (response_format / output_config); default: not for openai-compatible. */
    structuredOutput: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if ((m.params === undefined) === (m.relativeCost === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["params"],
        message: 'give exactly one of params (e.g. 8e9 or "8B") or relativeCost',
      });
    }
    if (m.provider !== "openai-compatible" && m.apiKeyEnv === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["apiKeyEnv"],
        message: `required for provider ${m.provider}: the name of the environment variable holding the key`,
      });
    }
    if (m.provider === "openai-compatible" && m.baseURL === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["baseURL"],
        message: "required for provider openai-compatible, e.g. http://localhost:11434/v1",
      });
    }
  });

const benchSchema = z
  .object({
    /** Consecutive failed calls (after retries) that bench a model. */
    afterFailures: z.number().int().positive().default(3),
    /** Proposer calls of the run a first bench lasts; doubles on each re-bench. */
    calls: z.number().int().positive().default(8),
    maxCalls: z.number().int().positive().default(128),
  })
  .strict();

const promptSchema = z
  .object({
    /** Legal next transformations listed in a prompt (spread over kinds). */
    maxLegalMoves: z.number().int().positive().default(60),
  })
  .strict();

export const bucketSchema = z
  .object({
    models: z.array(modelSchema).min(1, "at least one model"),
    bench: benchSchema.default({ afterFailures: 3, calls: 8, maxCalls: 128 }),
    prompt: promptSchema.default({ maxLegalMoves: 60 }),
  })
  .strict()
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.models.forEach((m, i) => {
      if (seen.has(m.name))
        ctx.addIssue({
          code: "custom",
          path: ["models", i, "name"],
          message: `'${m.name}' is used twice`,
        });
      seen.add(m.name);
    });
    // φ compares sizes on one scale: parameter counts and relative costs do not mix.
    const byParams = b.models.filter((m) => m.params !== undefined).length;
    if (byParams > 0 && byParams < b.models.length) {
      ctx.addIssue({
        code: "custom",
        path: ["models"],
        message: "use params for every model or relativeCost for every model, not a mix",
      });
    }
  });

export type Bucket = z.output<typeof bucketSchema>;
export type ModelSpec = Bucket["models"][number];
/** The bucket as written in a file (defaults not yet filled in). */
export type BucketInput = z.input<typeof bucketSchema>;

/** The size φ is computed from: the parameter count, else the relative cost. */
export function sizeOf(m: ModelSpec): number {
  return m.params ?? m.relativeCost!;
}

/** Whether the provider is sent a JSON schema for the answer. */
export function usesStructuredOutput(m: ModelSpec): boolean {
  return m.structuredOutput ?? m.provider !== "openai-compatible";
}

/** `models[1].provider` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "(file)";
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      if (i.code === "unrecognized_keys") {
        const keys = i.keys.map((k) => `'${k}'`).join(", ");
        const hint = i.keys.some((k) => /^api_?key$/i.test(k))
          ? " (keys never go in the bucket file: put the key in an environment variable and name it with apiKeyEnv)"
          : "";
        return `${formatPath(i.path)}: unknown field ${keys}${hint}`;
      }
      return `${formatPath(i.path)}: ${i.message}`;
    })
    .join("\n  ");
}

/** Validates an already-parsed bucket; `source` names it in errors. */
export function validateBucket(value: unknown, source: string): Bucket {
  const r = bucketSchema.safeParse(value);
  if (!r.success)
    throw new BucketError(`${source}: invalid model bucket:\n  ${describeIssues(r.error.issues)}`);
  return r.data;
}

/** Reads a bucket file (.json as JSON, anything else as YAML) and validates it. */
export function loadBucketFile(file: string): Bucket {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new BucketError(`model bucket '${file}' cannot be read: ${(e as Error).message}`);
  }
  return validateBucket(parseBucketText(text, file), file);
}

/**
 * The key of every model, from the environment variables the bucket names. A missing,
 * empty or malformed variable is an error naming the variable and the model (never a value).
 */
export function resolveApiKeys(
  bucket: Bucket,
  env: Readonly<Record<string, string | undefined>>,
): Map<string, string | undefined> {
  const keys = new Map<string, string | undefined>();
  for (const m of bucket.models) {
    if (m.apiKeyEnv === undefined) {
      keys.set(m.name, undefined);
      continue;
    }
    const value = env[m.apiKeyEnv];
    if (value === undefined || value.trim() === "") {
      throw new BucketError(
        `model '${m.name}': environment variable ${m.apiKeyEnv} (its apiKeyEnv) is not set`,
      );
    }
    const key = value.trim();
    // fetch refuses such a header and its error would quote the whole value.
    if (!/^[\x21-\x7e]+$/.test(key)) {
      throw new BucketError(
        `model '${m.name}': environment variable ${m.apiKeyEnv} (its apiKeyEnv) holds characters no key has (spaces, control characters or non-ASCII); its value is not shown`,
      );
    }
    keys.set(m.name, key);
  }
  return keys;
}
