import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { programHash } from "../../src/ir/hash.ts";
import { referenceRun } from "../../src/measure/evaluate.ts";
import {
  ALLOWED_SLOWDOWN,
  candidateRunTimeoutMs,
  MIN_RUN_TIMEOUT_MS,
} from "../../src/measure/run-timeout.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import { freshEvalOptions } from "../support/toolchain.ts";

describe("candidate run timeout", () => {
  it("follows the unscheduled program's run time, never below the floor", () => {
    const run = { warmup: 1, minMs: 50 };
    expect(candidateRunTimeoutMs(undefined, run)).toBe(MIN_RUN_TIMEOUT_MS);
    expect(candidateRunTimeoutMs(3, run)).toBe(MIN_RUN_TIMEOUT_MS);
    // A paper-size baseline taking 33 s a call on a loaded machine: the checked run, one
    // warm-up and three timed calls, each allowed ALLOWED_SLOWDOWN times as long.
    expect(candidateRunTimeoutMs(33_000, run)).toBe(ALLOWED_SLOWDOWN * 33_000 * 5 + 50);
    expect(candidateRunTimeoutMs(33_000, run)).toBeGreaterThan(5 * 33_000);
  });

  it("records the reference run's time beside its cached output and reads it back", async () => {
    const opts = freshEvalOptions();
    const program = instantiate("softmax", "small");
    const first = await referenceRun(program, opts);
    expect(first.runMs).toBeGreaterThan(0);
    const cached = await referenceRun(program, opts);
    expect(cached.runMs).toBe(first.runMs);
    expect(cached.output).toEqual(first.output);
    // A cache written before run times were recorded still gives the output, with no time.
    const timeFile = join(
      opts.cacheDir,
      "ref",
      `${programHash(program)}-${opts.seed ?? 1}.f32.json`,
    );
    expect(existsSync(timeFile)).toBe(true);
    rmSync(timeFile);
    const old = await referenceRun(program, opts);
    expect(old.runMs).toBeUndefined();
    expect(old.output).toEqual(first.output);
  });
});
