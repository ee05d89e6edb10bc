/** Row normalizations of a tokens x hidden activation: RMSNorm and LayerNorm. */
import { divide, minus, plus, ProgramBuilder, rsqrt, times } from "../../ir/builder.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

/** Epsilon of Llama 3 (`rms_norm_eps`) and of the usual LayerNorm default. */
export const NORM_EPS = 1e-5;

export const rmsnorm: WorkloadDef = {
  name: "rmsnorm",
  kind: "operator",
  description: "Y[i,j] = X[i,j] * rsqrt(sum_j X[i,j]^2 / cols + eps) * weight[j]",
  sizes: {
    small: { rows: 48, cols: 320 },
    medium: { rows: 512, cols: 2048 },
    // Llama-3-8B: 1024 tokens x hidden_size 4096.
    paper: { rows: 1024, cols: 4096 },
  },
  build(params) {
    const { rows, cols } = requireParams("rmsnorm", params, ["rows", "cols"]);
    const b = new ProgramBuilder("rmsnorm", { rows, cols });
    const X = b.input("X", [rows, cols]);
    const weight = b.weight("weight", [cols]);
    const sumSq = b.reduce("sum_sq", { i: rows }, { j: cols }, "sum", ({ i, j }) =>
      times(X.at(i, j), X.at(i, j)),
    );
    const Y = b.compute("Y", { i: rows, j: cols }, ({ i, j }) =>
      times(times(X.at(i, j), rsqrt(plus(divide(sumSq.at(i), cols), NORM_EPS))), weight.at(j)),
    );
    return b.build([Y]);
  },
};

export const layernorm: WorkloadDef = {
  name: "layernorm",
  kind: "operator",
  description: "Y[i,j] = (X[i,j] - mean_i) * rsqrt(var_i + eps) * gamma[j] + beta[j]",
  sizes: {
    small: { rows: 60, cols: 192 },
    medium: { rows: 512, cols: 1536 },
    // FLUX.1 DiT: 1024 image tokens x hidden 3072 (24 heads x 128).
    paper: { rows: 1024, cols: 3072 },
  },
  build(params) {
    const { rows, cols } = requireParams("layernorm", params, ["rows", "cols"]);
    const b = new ProgramBuilder("layernorm", { rows, cols });
    const X = b.input("X", [rows, cols]);
    const gamma = b.weight("gamma", [cols]);
    const beta = b.weight("beta", [cols]);
    // Scaling each term by 1/cols keeps mean and variance single reduction stages.
    const invCols = 1 / cols;
    const mean = b.reduce("mean", { i: rows }, { j: cols }, "sum", ({ i, j }) =>
      times(X.at(i, j), invCols),
    );
    const variance = b.reduce("variance", { i: rows }, { j: cols }, "sum", ({ i, j }) => {
      const centered = minus(X.at(i, j), mean.at(i));
      return times(times(centered, centered), invCols);
    });
    const Y = b.compute("Y", { i: rows, j: cols }, ({ i, j }) =>
      plus(
        times(
          times(minus(X.at(i, j), mean.at(i)), rsqrt(plus(variance.at(i), NORM_EPS))),
          gamma.at(j),
        ),
        beta.at(j),
      ),
    );
    return b.build([Y]);
  },
};
