import { describe, expect, it } from "vitest";
import { freshEvalOptions } from "../support/toolchain.ts";
import { checkRandomTraces } from "./property.ts";

describe("random legal and illegal transformation sequences (multi-stage layers)", () => {
  it("are refused clearly or compile and match the reference", async () => {
    const checked = await checkRandomTraces(
      [
        { workload: "layernorm", size: "small" },
        // Larger than a core's private caches (4 MiB per tensor), so stream_store and
        // prefetch are offered; odd columns exercise the streaming store's fallback.
        {
          workload: "rmsnorm",
          size: "small",
          shape: { rows: 256, cols: 4100 },
          prefix: ["split Y.j 16 -> jo jl", "vectorize Y.jl"].join("\n"),
        },
        // Row blocks with the next block's prefetch spread over the columns between them;
        // the random steps then unroll, share or reorder around it.
        {
          workload: "rmsnorm",
          size: "small",
          shape: { rows: 256, cols: 4100 },
          prefix: [
            "split Y.i 2 -> io ii",
            "split Y.j 16 -> jo jl",
            "reorder Y io jo ii jl",
            "vectorize Y.jl",
            "prefetch X in Y at ii ahead io 1 spread",
          ].join("\n"),
        },
        { workload: "llama3-8b-attention", size: "small" },
        { workload: "llama4-scout-mlp", size: "small" },
        { workload: "batch-matmul-nt", size: "small" },
        // A compute_at chain half built: the random steps may attach the rest and schedule it.
        {
          workload: "flux-attention",
          size: "small",
          shape: { H: 2, S: 19, D: 12 },
          prefix: [
            "compute_inline logits",
            "split O.s 4 -> so si",
            "compute_at probs at O.so",
            "compute_at row_sum at O.so",
          ].join("\n"),
        },
      ],
      100,
      freshEvalOptions({ threads: 2 }),
    );
    expect(checked).toBe(100);
  }, 300_000); // 100 builds and runs: minutes when the machine is busy
});
