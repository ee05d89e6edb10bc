/** Llama 4 Scout SiLU-gated MLP (the shape of its shared and routed experts). */
import { ProgramBuilder } from "../../ir/builder.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";
import { addGatedMlpStages } from "./gated-mlp.ts";

export const llama4ScoutMlp: WorkloadDef = {
  name: "llama4-scout-mlp",
  kind: "layer",
  description: "Llama 4 Scout SiLU-gated MLP: Y = (silu(X·Wg) * X·Wu)·Wd",
  source:
    "meta-llama/Llama-4-Scout-17B-16E config.json text_config: hidden_size=5120, " +
    "intermediate_size=8192 (expert and shared-expert MLP); 32 tokens",
  sizes: {
    small: { T: 8, H: 64, F: 96 },
    medium: { T: 32, H: 1024, F: 512 },
    paper: { T: 32, H: 5120, F: 8192 },
  },
  build(params) {
    const { T, H, F } = requireParams("llama4-scout-mlp", params, ["T", "H", "F"]);
    const b = new ProgramBuilder("llama4_scout_mlp", { T, H, F });
    const X = b.input("X", [T, H]);
    const Y = addGatedMlpStages(b, X, F, {
      gateWeight: "Wg",
      upWeight: "Wu",
      downWeight: "Wd",
      output: "Y",
    });
    return b.build([Y]);
  },
};
