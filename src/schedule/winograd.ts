/**
 * `winograd S`: rewrites a stride-1 3x3 convolution stage into Winograd F(2x2, 3x3)
 * (Lavin and Gray, 2016): each 2x2 block of outputs is computed from a 4x4 input tile
 * with 16 multiplications per input channel instead of 36, so the convolution's
 * multiply-adds become 16 batched GEMMs of 4/9 of its work plus light transforms:
 *
 *   S_G, S_BT, S_AT  the transform matrices (tables that read nothing)
 *   S_U[e,f,o,c]     = sum_{a,b} G[e,a] W[o,c,a,b] G[f,b]        the filter transform
 *   S_D[n,c,y,p,h]   = P[n,c,y,2h+p]                              the input, deinterleaved
 *   S_V[e,f,n,c,t]   = sum_{a,b} BT[e,a] BT[f,b] D[.., 2(t/TW)+a, b%2, t%TW + b/2]
 *   S_M[e,f,n,o,t]   = sum_c U[e,f,o,c] V[e,f,n,c,t]               the batched GEMM
 *   S_Y[n,o,y,p,h]   = sum_{e,f} AT[y%2,e] AT[p,f] M[e,f,n,o,(y/2)TW + h]
 *   S[n,o,y,x]       = S_Y[n,o,y,x%2,x/2]                        interleaved back
 *
 * with t the tile index (TW = OW/2 tiles per row). The tables and U read only constants,
 * so lowering computes them once in prepare. The deinterleaved layouts keep every
 * transform contiguous along its innermost axis, so each vectorizes; only the two copies
 * D and S move single floats. Verification still compares against the direct convolution.
 */
import { add, floorDiv, intVar, mod, mul, toLinear, type IntExpr } from "../ir/int-expr.ts";
import type { Axis, Cond, Expr, Program, Stage } from "../ir/program.ts";
import { isConstant, tensorShape } from "../ir/program.ts";
import { ScheduleError } from "./errors.ts";
import { initialStageState, isUntouched, type ScheduleState, type StageState } from "./state.ts";

/** Lavin's F(2x2, 3x3) matrices: filter G (4x3), input Bᵀ (4x4), output Aᵀ (2x4). */
const G = [
  [1, 0, 0],
  [0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5],
  [0, 0, 1],
];
const BT = [
  [1, 0, -1, 0],
  [0, 1, 1, 0],
  [0, -1, 1, 0],
  [0, 1, 0, -1],
];
const AT = [
  [1, 1, 1, 0],
  [0, 1, -1, -1],
];

type Read = Extract<Expr, { k: "read" }>;

interface ConvMatch {
  readonly input: Read;
  readonly weight: Read;
  readonly axes: readonly [Axis, Axis, Axis, Axis];
  readonly channels: Axis;
}

export function winograd(
  state: ScheduleState,
  st: StageState,
  fresh: (base: string) => string,
): ScheduleState {
  const program = state.program;
  const stage = program.stages.find((s) => s.name === st.name)!;
  if (!isUntouched(state, st)) {
    throw new ScheduleError(
      "winograd must come before any other transformation of the stage",
      st.name,
    );
  }
  const m = matchConv(program, stage);
  const [nAxis, oAxis, yAxis, xAxis] = m.axes;
  if (yAxis.extent % 2 !== 0 || xAxis.extent % 2 !== 0) {
    throw new ScheduleError(
      `winograd F(2x2,3x3) needs an even output height and width (here ${yAxis.extent}x${xAxis.extent})`,
      st.name,
    );
  }
  const s = st.name;
  const OH = yAxis.extent;
  const OW = xAxis.extent;
  const TW = OW / 2;
  const T = (OH / 2) * TW;
  const C = m.channels.extent;
  const v = intVar;
  const names = {
    g: fresh(`${s}_G`),
    bt: fresh(`${s}_BT`),
    at: fresh(`${s}_AT`),
    u: fresh(`${s}_U`),
    d: fresh(`${s}_D`),
    vt: fresh(`${s}_V`),
    m: fresh(`${s}_M`),
    y: fresh(`${s}_Y`),
  };
  const read = (tensor: string, ...idx: IntExpr[]): Expr => ({ k: "read", tensor, idx });
  const times = (...xs: Expr[]): Expr => xs.reduce((a, b) => ({ k: "bin", op: "*", a, b }));
  const ax = (name: string, extent: number): Axis => ({ name, extent });
  const tile = [ax("e", 4), ax("f", 4)];
  const n = nAxis.extent;

  const stages: Stage[] = [
    table(names.g, G),
    table(names.bt, BT),
    table(names.at, AT),
    {
      name: names.u,
      axes: [...tile, ax("o", oAxis.extent), ax("c", C)],
      reduceAxes: [ax("a", 3), ax("b", 3)],
      combiner: "sum",
      body: times(
        read(names.g, v("e"), v("a")),
        read(m.weight.tensor, v("o"), v("c"), v("a"), v("b")),
        read(names.g, v("f"), v("b")),
      ),
    },
    {
      name: names.d,
      axes: [ax("n", n), ax("c", C), ax("y", OH + 2), ax("p", 2), ax("h", TW + 1)],
      reduceAxes: [],
      body: read(m.input.tensor, v("n"), v("c"), v("y"), add(mul(v("h"), 2), v("p"))),
    },
    {
      name: names.vt,
      axes: [...tile, ax("n", n), ax("c", C), ax("t", T)],
      reduceAxes: [ax("a", 4), ax("b", 4)],
      combiner: "sum",
      body: times(
        read(names.bt, v("e"), v("a")),
        read(names.bt, v("f"), v("b")),
        read(
          names.d,
          v("n"),
          v("c"),
          add(mul(floorDiv(v("t"), TW), 2), v("a")),
          mod(v("b"), 2),
          add(mod(v("t"), TW), floorDiv(v("b"), 2)),
        ),
      ),
    },
    {
      name: names.m,
      axes: [...tile, ax("n", n), ax("o", oAxis.extent), ax("t", T)],
      reduceAxes: [ax("c", C)],
      combiner: "sum",
      body: times(
        read(names.u, v("e"), v("f"), v("o"), v("c")),
        read(names.vt, v("e"), v("f"), v("n"), v("c"), v("t")),
      ),
    },
    {
      name: names.y,
      axes: [ax("n", n), ax("o", oAxis.extent), ax("y", OH), ax("p", 2), ax("h", TW)],
      reduceAxes: tile,
      combiner: "sum",
      body: times(
        read(names.at, mod(v("y"), 2), v("e")),
        read(names.at, v("p"), v("f")),
        read(names.m, v("e"), v("f"), v("n"), v("o"), add(mul(floorDiv(v("y"), 2), TW), v("h"))),
      ),
    },
    {
      name: s,
      axes: m.axes,
      reduceAxes: [],
      body: read(
        names.y,
        v(nAxis.name),
        v(oAxis.name),
        v(yAxis.name),
        mod(v(xAxis.name), 2),
        floorDiv(v(xAxis.name), 2),
      ),
    },
  ];
  const next: Program = {
    ...program,
    stages: program.stages.flatMap((x) => (x.name === s ? stages : [x])),
  };
  return {
    program: next,
    stages: state.stages.flatMap((x) =>
      x.name === s ? stages.map((y) => initialStageState(next, y.name)) : [x],
    ),
  };
}

/** A stage holding a constant matrix: nested selects over its nonzero entries. */
function table(name: string, rows: readonly (readonly number[])[]): Stage {
  const at = (i: number, k: number): Cond => ({
    k: "and",
    a: { k: "icmp", op: "==", a: intVar("i"), b: { k: "const", v: i } },
    b: { k: "icmp", op: "==", a: intVar("k"), b: { k: "const", v: k } },
  });
  let body: Expr = { k: "const", v: 0 };
  rows.forEach((row, i) =>
    row.forEach((value, k) => {
      if (value !== 0) body = { k: "select", cond: at(i, k), a: { k: "const", v: value }, b: body };
    }),
  );
  return {
    name,
    axes: [
      { name: "i", extent: rows.length },
      { name: "k", extent: rows[0].length },
    ],
    reduceAxes: [],
    body,
  };
}

/**
 * The stage must be sum_{c,ry,rx} P[n,c,y+ry,x+rx] * W[o,c,ry,rx] over axes (n,o,y,x),
 * with a 3x3 kernel, W constant and P large enough for the padded tiles.
 */
function matchConv(program: Program, stage: Stage): ConvMatch {
  const fail = (why: string): never => {
    throw new ScheduleError(`winograd needs a stride-1 3x3 convolution: ${why}`, stage.name);
  };
  if (stage.combiner !== "sum" || stage.axes.length !== 4 || stage.reduceAxes.length !== 3)
    fail("a sum over (c, ry, rx) into axes (n, o, y, x)");
  const body = stage.body;
  if (body.k !== "bin" || body.op !== "*" || body.a.k !== "read" || body.b.k !== "read")
    fail("the body must be the product of two reads");
  const [r1, r2] = [(body as { a: Read }).a, (body as { b: Read }).b];
  const weight = isConstant(program, r2.tensor) ? r2 : r1;
  const input = weight === r2 ? r1 : r2;
  if (!isConstant(program, weight.tensor)) fail("neither operand is a weight");
  const [n, o, y, x] = stage.axes;
  const [c, ry, rx] = stage.reduceAxes;
  if (ry.extent !== 3 || rx.extent !== 3) fail(`the kernel is ${ry.extent}x${rx.extent}`);
  const is = (e: IntExpr | undefined, ...vars: string[]) => {
    if (!e) return false;
    const lin = toLinear(e);
    return (
      lin.c === 0 &&
      lin.terms.size === vars.length &&
      vars.every((name) => {
        const t = lin.terms.get(name);
        return t?.atom.k === "var" && t.coef === 1;
      })
    );
  };
  const wIdx = weight.idx;
  const pIdx = input.idx;
  if (
    wIdx.length !== 4 ||
    !is(wIdx[0], o.name) ||
    !is(wIdx[1], c.name) ||
    !is(wIdx[2], ry.name) ||
    !is(wIdx[3], rx.name)
  )
    fail(
      `the weight must be read as ${weight.tensor}[${o.name}, ${c.name}, ${ry.name}, ${rx.name}]`,
    );
  if (
    pIdx.length !== 4 ||
    !is(pIdx[0], n.name) ||
    !is(pIdx[1], c.name) ||
    !is(pIdx[2], y.name, ry.name) ||
    !is(pIdx[3], x.name, rx.name)
  )
    fail(
      `the input must be read as ${input.tensor}[${n.name}, ${c.name}, ${y.name} + ${ry.name}, ${x.name} + ${rx.name}]`,
    );
  const shape = tensorShape(program, input.tensor);
  if (shape[2] < y.extent + 2 || shape[3] < x.extent + 2)
    fail("the input is smaller than the padded tiles");
  return { input, weight, axes: [n, o, y, x], channels: c };
}
