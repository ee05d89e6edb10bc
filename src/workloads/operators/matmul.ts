/** Matrix products: plain, batched, and batched with the second operand transposed. */
import { ProgramBuilder, times } from "../../ir/builder.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

export const matmul: WorkloadDef = {
  name: "matmul",
  kind: "operator",
  description: "C[i,j] = sum_k A[i,k] * B[k,j] (B is a weight, as in a linear layer)",
  sizes: {
    small: { M: 64, N: 64, K: 64 },
    // Medium: 64 tokens through a 1024x1024 weight (4.5 MiB, beyond the private L2).
    medium: { M: 64, N: 1024, K: 1024 },
    paper: { M: 1024, N: 1024, K: 1024 },
  },
  build(params) {
    const { M, N, K } = requireParams("matmul", params, ["M", "N", "K"]);
    const b = new ProgramBuilder("matmul", { M, N, K });
    const A = b.input("A", [M, K]);
    const B = b.weight("B", [K, N]);
    const C = b.reduce("C", { i: M, j: N }, { k: K }, "sum", ({ i, j, k }) =>
      times(A.at(i, k), B.at(k, j)),
    );
    return b.build([C]);
  },
};

export const batchMatmul: WorkloadDef = {
  name: "batch-matmul",
  kind: "operator",
  description: "C[b,i,j] = sum_k A[b,i,k] * Bm[b,k,j]",
  // Paper shape: Llama-3-8B attention P·V per query head (32 heads, seq 1024, head dim 128).
  sizes: {
    small: { B: 4, M: 32, N: 24, K: 40 },
    // Medium: the same product for 4 heads at 512 tokens, head dim 64.
    medium: { B: 4, M: 512, N: 64, K: 512 },
    paper: { B: 32, M: 1024, N: 128, K: 1024 },
  },
  build(params) {
    const { B, M, N, K } = requireParams("batch-matmul", params, ["B", "M", "N", "K"]);
    const b = new ProgramBuilder("batch_matmul", { B, M, N, K });
    const A = b.input("A", [B, M, K]);
    const Bm = b.input("Bm", [B, K, N]);
    const C = b.reduce("C", { b: B, i: M, j: N }, { k: K }, "sum", ({ b: bi, i, j, k }) =>
      times(A.at(bi, i, k), Bm.at(bi, k, j)),
    );
    return b.build([C]);
  },
};

export const batchMatmulNT: WorkloadDef = {
  name: "batch-matmul-nt",
  kind: "operator",
  description: "C[b,i,j] = sum_k A[b,i,k] * Bm[b,j,k] (second operand stored transposed)",
  // Paper shape: Llama-3-8B attention Q·K^T per query head (32 heads, seq 1024, head dim 128).
  sizes: {
    small: { B: 4, M: 32, N: 40, K: 24 },
    // Medium: the same product for 4 heads at 512 tokens, head dim 64.
    medium: { B: 4, M: 512, N: 512, K: 64 },
    paper: { B: 32, M: 1024, N: 1024, K: 128 },
  },
  build(params) {
    const { B, M, N, K } = requireParams("batch-matmul-nt", params, ["B", "M", "N", "K"]);
    const b = new ProgramBuilder("batch_matmul_nt", { B, M, N, K });
    const A = b.input("A", [B, M, K]);
    const Bm = b.input("Bm", [B, N, K]);
    const C = b.reduce("C", { b: B, i: M, j: N }, { k: K }, "sum", ({ b: bi, i, j, k }) =>
      times(A.at(bi, i, k), Bm.at(bi, j, k)),
    );
    return b.build([C]);
  },
};
