/** A 3x3, 512 -> 512 channel convolution of the FLUX.1 VAE decoder, with its bias. */
import { plus, ProgramBuilder } from "../../ir/builder.ts";
import { addConv2dStages } from "../operators/conv2d.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

export const fluxConv: WorkloadDef = {
  name: "flux-conv",
  kind: "layer",
  description: "FLUX.1 VAE decoder 3x3 conv (stride 1, pad 1) with bias add epilogue",
  source:
    "black-forest-labs/FLUX.1-dev vae/config.json: block_out_channels=[128,256,512,512], " +
    "latent_channels=16; a 512-channel decoder conv at 32x32 (the latent of a 256x256 image)",
  sizes: {
    small: { N: 1, C: 16, H: 10, W: 10, O: 16 },
    medium: { N: 1, C: 384, H: 8, W: 8, O: 384 },
    paper: { N: 1, C: 512, H: 32, W: 32, O: 512 },
  },
  build(params) {
    const { N, C, H, W, O } = requireParams("flux-conv", params, ["N", "C", "H", "W", "O"]);
    const b = new ProgramBuilder("flux_conv", { N, C, H, W, O });
    const geometry = { N, C, H, W, O, KH: 3, KW: 3, stride: 1, pad: 1 };
    const conv = addConv2dStages(b, "flux-conv", geometry, "conv");
    const bias = b.weight("bias", [O]);
    const [, , OH, OW] = conv.shape;
    const Y = b.compute("Y", { n: N, o: O, y: OH, x: OW }, (v) =>
      plus(conv.at(v.n, v.o, v.y, v.x), bias.at(v.o)),
    );
    return b.build([Y]);
  },
};
