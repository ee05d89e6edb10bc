/**
 * Shared test setup: the real C compiler and a fresh cache directory per test file, with the
 * run's calibrated machine profile in it.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { detectCompiler } from "../../src/measure/compiler.ts";
import type { EvalOptions } from "../../src/measure/evaluate.ts";
import { calibratedCacheDir } from "./calibrated-cache.ts";

export function freshEvalOptions(extra: Partial<EvalOptions> = {}): EvalOptions {
  return {
    compiler: detectCompiler(),
    cacheDir: calibratedCacheDir("colt-test-"),
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

/**
 * Writes `source` as `name`.c in `dir`, builds it with the target's compiler and flags (and
 * `extraFlags`, -lm linked), runs it and returns what it printed.
 */
export function compileAndRun(
  dir: string,
  name: string,
  source: string,
  extraFlags: readonly string[] = [],
): string {
  const src = join(dir, `${name}.c`);
  const bin = join(dir, name);
  writeFileSync(src, source);
  const cc = detectCompiler();
  execFileSync(cc.argv[0], [
    ...cc.argv.slice(1),
    ...cc.flags,
    ...extraFlags,
    src,
    "-o",
    bin,
    "-lm",
  ]);
  return execFileSync(bin, { encoding: "utf8" });
}
