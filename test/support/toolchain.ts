/** Shared test setup: the real C compiler and a fresh cache directory per test file. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectCompiler } from "../../src/measure/compiler.ts";
import type { EvalOptions } from "../../src/measure/evaluate.ts";

export function freshEvalOptions(extra: Partial<EvalOptions> = {}): EvalOptions {
  return {
    compiler: detectCompiler(),
    cacheDir: mkdtempSync(join(tmpdir(), "colt-test-")),
    seed: 1,
    ...extra,
  };
}

/** Runs async jobs at most `width` at a time (the machine has two cores). */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  job: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    results.push(...(await Promise.all(items.slice(i, i + width).map(job))));
  }
  return results;
}
