/**
 * DeepSeek-R1 MoE layer, restricted to what a static DAG can express: sigmoid router
 * scores over all routed experts, and one routed expert's SiLU-gated FFN (expert 0)
 * scaled by that expert's score. Top-k selection and the token gather/scatter it drives
 * are data-dependent and not expressible; see docs/workloads.md.
 */
import { ProgramBuilder, sigmoid, times } from "../../ir/builder.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";
import { addGatedMlpStages } from "./gated-mlp.ts";

/** The routed expert whose FFN the workload computes. */
const EXPERT = 0;

export const deepseekMoe: WorkloadDef = {
  name: "deepseek-r1-moe",
  kind: "layer",
  description:
    "DeepSeek-R1 MoE: sigmoid router over the routed experts + one SiLU-gated expert FFN scaled by its gate score",
  source:
    "deepseek-ai/DeepSeek-R1 config.json: hidden_size=7168, moe_intermediate_size=2048, " +
    'n_routed_experts=256, num_experts_per_tok=8, scoring_func="sigmoid"; 64 tokens',
  sizes: {
    small: { T: 8, H: 96, E: 16, F: 48 },
    medium: { T: 32, H: 1024, E: 64, F: 512 },
    paper: { T: 64, H: 7168, E: 256, F: 2048 },
  },
  build(params) {
    const { T, H, E, F } = requireParams("deepseek-r1-moe", params, ["T", "H", "E", "F"]);
    const b = new ProgramBuilder("deepseek_r1_moe", { T, H, E, F });
    const X = b.input("X", [T, H]);
    // Router weight stored [experts, hidden] as in the checkpoint, hence X·Wg^T.
    const Wr = b.weight("Wr", [E, H]);
    const logits = b.reduce("router_logits", { t: T, e: E }, { h: H }, "sum", (v) =>
      times(X.at(v.t, v.h), Wr.at(v.e, v.h)),
    );
    const scores = b.compute("router_scores", { t: T, e: E }, (v) => sigmoid(logits.at(v.t, v.e)));
    const expertOut = addGatedMlpStages(b, X, F, {
      gateWeight: "W1",
      upWeight: "W3",
      downWeight: "W2",
      output: "expert_out",
    });
    const Y = b.compute("Y", { t: T, h: H }, (v) =>
      times(expertOut.at(v.t, v.h), scores.at(v.t, EXPERT)),
    );
    // router_scores is an output too: it is what top-k routing would consume, and it keeps
    // the other experts' scores live.
    return b.build([Y, scores]);
  },
};
