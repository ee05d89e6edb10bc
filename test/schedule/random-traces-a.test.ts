import { describe, expect, it } from "vitest";
import { freshEvalOptions } from "../support/toolchain.ts";
import { checkRandomTraces } from "./property.ts";

describe("random legal and illegal transformation sequences (operators, odd extents)", () => {
  it("are refused clearly or compile and match the reference", async () => {
    const checked = await checkRandomTraces(
      [
        { workload: "matmul", size: "small", shape: { M: 37, N: 45, K: 29 } },
        { workload: "conv2d", size: "small" },
        { workload: "softmax", size: "small" },
        { workload: "rmsnorm", size: "small", shape: { rows: 7, cols: 45 } },
      ],
      100,
      freshEvalOptions(),
    );
    expect(checked).toBe(100);
  }, 300_000); // 100 builds and runs: minutes when the machine is busy
});
