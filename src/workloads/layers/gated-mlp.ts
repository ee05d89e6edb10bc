/**
 * The SiLU-gated MLP (SwiGLU) shared by Llama and DeepSeek experts:
 *   G = X·Wg, U = X·Wu, H = silu(G) * U, Y = H·Wd.
 * Weights are stored [in, out] so every product is a plain (non-transposed) matmul.
 */
import { ProgramBuilder, silu, times, type TensorRef } from "../../ir/builder.ts";

export interface GatedMlpNames {
  readonly gateWeight: string;
  readonly upWeight: string;
  readonly downWeight: string;
  readonly output: string;
}

export function addGatedMlpStages(
  b: ProgramBuilder,
  X: TensorRef,
  intermediate: number,
  names: GatedMlpNames,
): TensorRef {
  const [tokens, hidden] = X.shape;
  const Wg = b.weight(names.gateWeight, [hidden, intermediate]);
  const Wu = b.weight(names.upWeight, [hidden, intermediate]);
  const Wd = b.weight(names.downWeight, [intermediate, hidden]);
  const G = b.reduce("gate_proj", { t: tokens, f: intermediate }, { h: hidden }, "sum", (v) =>
    times(X.at(v.t, v.h), Wg.at(v.h, v.f)),
  );
  const U = b.reduce("up_proj", { t: tokens, f: intermediate }, { h: hidden }, "sum", (v) =>
    times(X.at(v.t, v.h), Wu.at(v.h, v.f)),
  );
  const H = b.compute("act", { t: tokens, f: intermediate }, (v) =>
    times(silu(G.at(v.t, v.f)), U.at(v.t, v.f)),
  );
  return b.reduce(names.output, { t: tokens, h: hidden }, { f: intermediate }, "sum", (v) =>
    times(H.at(v.t, v.f), Wd.at(v.f, v.h)),
  );
}
