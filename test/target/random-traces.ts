/**
 * Random legal and illegal transformation sequences on a target other than the host's
 * (test/schedule covers the host's): 200 traces, each refused clearly or verified.
 */
import { expect, it } from "vitest";
import { checkRandomTraces } from "../schedule/property.ts";
import { targetEvalOptions } from "./support.ts";

const CASES = [
  { workload: "matmul", size: "small", shape: { M: 37, N: 45, K: 29 } },
  { workload: "softmax", size: "small" },
  { workload: "rmsnorm", size: "small" },
  { workload: "conv2d", size: "small" },
] as const;

export function randomTracesVerifyOn(name: string): void {
  const opts = targetEvalOptions(name);
  it.skipIf(opts === undefined)(
    "are refused clearly or compile and match the reference",
    async () => {
      expect(await checkRandomTraces(CASES, 200, opts!)).toBe(200);
    },
    1_200_000, // 200 builds and runs, one at a time: minutes on a busy machine
  );
}
