/** 2-D convolution, NCHW input and OIHW weights, with zero padding and stride. */
import { and, icmp, ProgramBuilder, select, times, type TensorRef } from "../../ir/builder.ts";
import { add, mul, sub } from "../../ir/int-expr.ts";
import { ShapeError } from "../errors.ts";
import { requireParams, type WorkloadDef } from "../workload-def.ts";

export interface ConvGeometry {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  readonly KH: number;
  readonly KW: number;
  readonly stride: number;
  readonly pad: number;
}

export function convOutputSize(workload: string, g: ConvGeometry): { OH: number; OW: number } {
  if (g.H + 2 * g.pad < g.KH || g.W + 2 * g.pad < g.KW) {
    throw new ShapeError(
      `workload '${workload}': kernel ${g.KH}x${g.KW} is larger than the padded input ` +
        `${g.H + 2 * g.pad}x${g.W + 2 * g.pad}`,
    );
  }
  return {
    OH: Math.floor((g.H + 2 * g.pad - g.KH) / g.stride) + 1,
    OW: Math.floor((g.W + 2 * g.pad - g.KW) / g.stride) + 1,
  };
}

/**
 * Adds the input, the weights, a zero-padding stage and the convolution stage to `b`.
 * Layers reuse it and add their own epilogue (e.g. a bias) after it.
 */
export function addConv2dStages(
  b: ProgramBuilder,
  workload: string,
  g: ConvGeometry,
  outputName: string,
): TensorRef {
  const { OH, OW } = convOutputSize(workload, g);
  const X = b.input("X", [g.N, g.C, g.H, g.W]);
  const Wt = b.weight("Wt", [g.O, g.C, g.KH, g.KW]);
  const { pad } = g;
  // Reads of X outside the image sit in the select's true branch, which is exempt from the
  // bounds check; the condition guarantees they never happen.
  const padded =
    pad === 0
      ? X
      : b.compute(
          "padded",
          { n: g.N, c: g.C, y: g.H + 2 * pad, x: g.W + 2 * pad },
          ({ n, c, y, x }) =>
            select(
              and(
                and(icmp(y, ">=", pad), icmp(y, "<", g.H + pad)),
                and(icmp(x, ">=", pad), icmp(x, "<", g.W + pad)),
              ),
              X.at(n, c, sub(y, pad), sub(x, pad)),
              0,
            ),
        );
  return b.reduce(
    outputName,
    { n: g.N, o: g.O, y: OH, x: OW },
    { c: g.C, ry: g.KH, rx: g.KW },
    "sum",
    ({ n, o, y, x, c, ry, rx }) =>
      times(
        padded.at(n, c, add(mul(y, g.stride), ry), add(mul(x, g.stride), rx)),
        Wt.at(o, c, ry, rx),
      ),
  );
}

export const CONV2D_PARAMS = ["N", "C", "H", "W", "O", "KH", "KW", "stride", "pad"] as const;

export const conv2d: WorkloadDef = {
  name: "conv2d",
  kind: "operator",
  description: "Y[n,o,y,x] = sum_{c,ry,rx} pad(X)[n,c,y*stride+ry,x*stride+rx] * Wt[o,c,ry,rx]",
  sizes: {
    // Odd 13x13 image: exercises loop tails and the padding border.
    small: { N: 1, C: 8, H: 13, W: 13, O: 12, KH: 3, KW: 3, stride: 1, pad: 1 },
    // ResNet-50 conv5_x 3x3 layer at batch 1: 9 MiB of weights, an odd 7x7 image.
    medium: { N: 1, C: 512, H: 7, W: 7, O: 512, KH: 3, KW: 3, stride: 1, pad: 1 },
    // ResNet-50 conv2_x 3x3 layer at batch 1.
    paper: { N: 1, C: 64, H: 56, W: 56, O: 64, KH: 3, KW: 3, stride: 1, pad: 1 },
  },
  build(params) {
    const g = requireParams("conv2d", params, CONV2D_PARAMS);
    const b = new ProgramBuilder("conv2d", g);
    const Y = addConv2dStages(b, "conv2d", g, "Y");
    return b.build([Y]);
  },
};
