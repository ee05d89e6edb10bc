/** Numerically stable row softmax: Y[i,j] = exp(X[i,j] - max_j X[i,:]) / sum_j exp(...). */
import { divide, exp, minus, ProgramBuilder } from "../../ir/builder.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

export const softmax: WorkloadDef = {
  name: "softmax",
  kind: "operator",
  description: "row softmax of a rows x cols matrix: row max, exp-sum, normalize",
  sizes: {
    // Odd extents on purpose: neither divides a vector width.
    small: { rows: 30, cols: 77 },
    // Medium: 1024 queries x 1024 keys (one head).
    medium: { rows: 1024, cols: 1024 },
    // Llama-3-8B attention scores at seq 1024: 32 query heads x 1024 queries, 1024 keys.
    paper: { rows: 32768, cols: 1024 },
  },
  build(params) {
    const { rows, cols } = requireParams("softmax", params, ["rows", "cols"]);
    const b = new ProgramBuilder("softmax", { rows, cols });
    const X = b.input("X", [rows, cols]);
    const rowMax = b.reduce("row_max", { i: rows }, { j: cols }, "max", ({ i, j }) => X.at(i, j));
    // Read by the sum and the normalize stage: scheduling decides whether to store it
    // (a row computed once with compute_at) or recompute it (compute_inline).
    const exps = b.compute("exps", { i: rows, j: cols }, ({ i, j }) =>
      exp(minus(X.at(i, j), rowMax.at(i))),
    );
    const rowSum = b.reduce("row_sum", { i: rows }, { j: cols }, "sum", ({ i, j }) =>
      exps.at(i, j),
    );
    const Y = b.compute("Y", { i: rows, j: cols }, ({ i, j }) =>
      divide(exps.at(i, j), rowSum.at(i)),
    );
    return b.build([Y]);
  },
};
