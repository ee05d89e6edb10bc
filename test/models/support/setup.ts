/** Buckets pointed at a mock server and a COLT search over fake measurements. */
import { validateBucket, type Bucket, type BucketInput } from "../../../src/models/bucket.ts";
import { buildBucket, type BuildOptions } from "../../../src/models/llm/build.ts";
import type { Proposer } from "../../../src/search/proposer.ts";
import { Schedule } from "../../../src/schedule/schedule.ts";
import { ColtSearch, type ColtOptions } from "../../../src/search/colt.ts";
import { TuningSession } from "../../../src/search/session.ts";
import { instantiate } from "../../../src/workloads/registry.ts";
import { ObjectiveCostModel, ObjectiveRunner, type Objective } from "../../support/fakes.ts";

/** The fake key: tests check it never appears anywhere COLT writes. */
export const KEY = "sk-test-0123456789abcdef-SECRET";
export const KEY_ENV = "COLT_TEST_LLM_KEY";

/** small: OpenAI chat completions; large: Anthropic messages; both at `url`. */
export function pairBucket(
  url: string,
  extra: Partial<BucketInput["models"][number]> = {},
): Bucket {
  return validateBucket(
    {
      models: [
        {
          name: "small",
          provider: "openai",
          model: "gpt-small",
          baseURL: url,
          apiKeyEnv: KEY_ENV,
          params: "8B",
          pricing: { inputPerMillion: 0.5, outputPerMillion: 2 },
          timeoutMs: 1500,
          maxRetries: 2,
          ...extra,
        },
        {
          name: "large",
          provider: "anthropic",
          model: "claude-haiku-4-5",
          baseURL: url,
          apiKeyEnv: KEY_ENV,
          params: 70e9,
          pricing: { inputPerMillion: 3, outputPerMillion: 15 },
          timeoutMs: 1500,
          maxRetries: 2,
          ...extra,
        },
      ],
    },
    "test bucket",
  );
}

/** Live proposers with short retry delays (seeded jitter). */
export function liveProposers(
  bucket: Bucket,
  extra: Partial<BuildOptions> = {},
  seed = 1,
): Proposer[] {
  return buildBucket(bucket, {
    mode: {
      kind: "live",
      env: { [KEY_ENV]: KEY },
      seed,
      retry: { baseDelayMs: 2, maxDelayMs: 10 },
    },
    ...extra,
  }).proposers;
}

export const program = instantiate("matmul", "small");

const count = (trace: string, word: string) =>
  trace.split("\n").filter((l) => l.startsWith(word)).length;
/** Deterministic stand-in for measured time: some transformations help, splits cost. */
export const objective: Objective = (t) =>
  100 * 1.05 ** count(t, "split") * 0.8 ** count(t, "cache_write") * 0.9 ** count(t, "reorder");

export async function runSearch(
  proposers: readonly Proposer[],
  trials: number,
  seed = 7,
  extra: Partial<ColtOptions> = {},
) {
  const session = new TuningSession({
    program,
    strategy: "colt",
    runner: new ObjectiveRunner(objective),
    costModel: new ObjectiveCostModel(objective),
    budget: { trials },
    baselineMs: 100,
    rooflineMs: 1,
    threads: 1,
  });
  const search = new ColtSearch(
    session,
    { proposers, expansionsPerRound: 2, measurePerRound: 1, ...extra },
    seed,
  );
  const result = await search.run(Schedule.initial(program));
  const stats = (name: string) => result.models.find((m) => m.info.name === name)!;
  return { session, result, stats };
}
