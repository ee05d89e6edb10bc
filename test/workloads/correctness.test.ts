/**
 * The interpreter, run on each workload at small size, against an independent naive
 * computation over the same seeded inputs.
 */
import { describe, expect, it } from "vitest";
import { interpret } from "../../src/ir/interpret.ts";
import { instantiate } from "../../src/workloads/registry.ts";
import {
  expectClose,
  inputsOf,
  naiveAttentionHead,
  naiveMatmul,
  sigmoid,
  tensor,
} from "./reference.ts";

const SEED = 7;

function run(name: string, overrides: Record<string, number> = {}) {
  const program = instantiate(name, "small", overrides);
  return {
    params: program.params,
    inputs: inputsOf(program, SEED),
    outputs: interpret(program, SEED),
  };
}

describe("operators match naive loops", () => {
  it.each([[{}], [{ M: 13, N: 17, K: 5 }], [{ M: 1, N: 7, K: 31 }]])("matmul %j", (shape) => {
    const { params: p, inputs, outputs } = run("matmul", shape);
    const A = tensor(inputs, "A");
    const B = tensor(inputs, "B");
    expectClose(outputs.get("C"), naiveMatmul(A, B, p.M, p.N, p.K));
  });

  it.each([
    ["batch-matmul", false],
    ["batch-matmul-nt", true],
  ] as const)("%s", (name, transposed) => {
    const { params: p, inputs, outputs } = run(name, { B: 3, M: 9, N: 11, K: 7 });
    const A = tensor(inputs, "A");
    const Bm = tensor(inputs, "Bm");
    const expected = new Float64Array(p.B * p.M * p.N);
    for (let b = 0; b < p.B; b++) {
      const slice = naiveMatmul(
        A.subarray(b * p.M * p.K, (b + 1) * p.M * p.K),
        Bm.subarray(b * p.K * p.N, (b + 1) * p.K * p.N),
        p.M,
        p.N,
        p.K,
        transposed,
      );
      expected.set(slice, b * p.M * p.N);
    }
    expectClose(outputs.get("C"), expected);
  });

  it.each([
    [{}],
    [{ stride: 2, pad: 1 }],
    [{ N: 2, C: 3, H: 9, W: 8, O: 4, KH: 5, KW: 3, stride: 2, pad: 2 }],
  ])("conv2d %j", (shape) => {
    const { params: p, inputs, outputs } = run("conv2d", shape);
    const X = tensor(inputs, "X");
    const Wt = tensor(inputs, "Wt");
    const OH = Math.floor((p.H + 2 * p.pad - p.KH) / p.stride) + 1;
    const OW = Math.floor((p.W + 2 * p.pad - p.KW) / p.stride) + 1;
    const expected = new Float64Array(p.N * p.O * OH * OW);
    for (let n = 0; n < p.N; n++)
      for (let o = 0; o < p.O; o++)
        for (let y = 0; y < OH; y++)
          for (let x = 0; x < OW; x++) {
            let acc = 0;
            for (let c = 0; c < p.C; c++)
              for (let ry = 0; ry < p.KH; ry++)
                for (let rx = 0; rx < p.KW; rx++) {
                  const iy = y * p.stride + ry - p.pad;
                  const ix = x * p.stride + rx - p.pad;
                  if (iy < 0 || iy >= p.H || ix < 0 || ix >= p.W) continue;
                  acc +=
                    X[((n * p.C + c) * p.H + iy) * p.W + ix] *
                    Wt[((o * p.C + c) * p.KH + ry) * p.KW + rx];
                }
            expected[((n * p.O + o) * OH + y) * OW + x] = acc;
          }
    expectClose(outputs.get("Y"), expected);
  });

  it("softmax rows sum to 1 and match a direct computation", () => {
    const { params: p, inputs, outputs } = run("softmax");
    const X = tensor(inputs, "X");
    const Y = outputs.get("Y") as Float32Array;
    const expected = new Float64Array(p.rows * p.cols);
    for (let i = 0; i < p.rows; i++) {
      const row = Array.from(X.subarray(i * p.cols, (i + 1) * p.cols));
      const total = row.reduce((a, x) => a + Math.exp(x), 0);
      row.forEach((x, j) => (expected[i * p.cols + j] = Math.exp(x) / total));
      const rowSum = Y.subarray(i * p.cols, (i + 1) * p.cols).reduce((a, y) => a + y, 0);
      expect(rowSum).toBeCloseTo(1, 5);
    }
    expectClose(Y, expected, 1e-6);
  });

  it("rmsnorm", () => {
    const { params: p, inputs, outputs } = run("rmsnorm", { rows: 7, cols: 45 });
    const X = tensor(inputs, "X");
    const weight = tensor(inputs, "weight");
    const expected = new Float64Array(p.rows * p.cols);
    for (let i = 0; i < p.rows; i++) {
      let sumSq = 0;
      for (let j = 0; j < p.cols; j++) sumSq += X[i * p.cols + j] ** 2;
      const inv = 1 / Math.sqrt(sumSq / p.cols + 1e-5);
      for (let j = 0; j < p.cols; j++)
        expected[i * p.cols + j] = X[i * p.cols + j] * inv * weight[j];
    }
    expectClose(outputs.get("Y"), expected);
  });

  it("layernorm", () => {
    const { params: p, inputs, outputs } = run("layernorm");
    const X = tensor(inputs, "X");
    const gamma = tensor(inputs, "gamma");
    const beta = tensor(inputs, "beta");
    const expected = new Float64Array(p.rows * p.cols);
    for (let i = 0; i < p.rows; i++) {
      const row = Array.from(X.subarray(i * p.cols, (i + 1) * p.cols));
      const mean = row.reduce((a, x) => a + x, 0) / p.cols;
      const variance = row.reduce((a, x) => a + (x - mean) ** 2, 0) / p.cols;
      const inv = 1 / Math.sqrt(variance + 1e-5);
      row.forEach((x, j) => (expected[i * p.cols + j] = (x - mean) * inv * gamma[j] + beta[j]));
    }
    expectClose(outputs.get("Y"), expected);
  });
});

describe("layers match naive loops", () => {
  it("llama3-8b-attention: causal GQA, query heads share their kv head", () => {
    const { params: p, inputs, outputs } = run("llama3-8b-attention");
    const Q = tensor(inputs, "Q");
    const K = tensor(inputs, "K");
    const V = tensor(inputs, "V");
    const O = outputs.get("O") as Float32Array;
    const head = p.S * p.D;
    const expected = new Float64Array(p.G * p.R * head);
    for (let g = 0; g < p.G; g++) {
      const kv = (t: Float32Array) => t.subarray(g * head, (g + 1) * head);
      for (let r = 0; r < p.R; r++) {
        const q = (g * p.R + r) * head;
        expected.set(naiveAttentionHead(Q.subarray(q, q + head), kv(K), kv(V), p.S, p.D, true), q);
        // Query 0 sees only key 0, so its output is exactly V row 0 of its kv head.
        expect(Array.from(O.subarray(q, q + p.D))).toEqual(
          Array.from(V.subarray(g * head, g * head + p.D)),
        );
      }
    }
    expectClose(O, expected);
  });

  it("llama3-8b-attention: the mask changes the result (it is not a no-op)", () => {
    const { params: p, inputs, outputs } = run("llama3-8b-attention");
    const head = p.S * p.D;
    const slice = (t: Float32Array) => t.subarray(0, head);
    const unmasked = naiveAttentionHead(
      slice(tensor(inputs, "Q")),
      slice(tensor(inputs, "K")),
      slice(tensor(inputs, "V")),
      p.S,
      p.D,
      false,
    );
    const O = outputs.get("O") as Float32Array;
    expect(Math.abs(O[0] - unmasked[0])).toBeGreaterThan(1e-3);
  });

  it("flux-attention: unmasked multi-head attention", () => {
    const { params: p, inputs, outputs } = run("flux-attention");
    const head = p.S * p.D;
    const expected = new Float64Array(p.H * head);
    const part = (name: string, h: number) =>
      tensor(inputs, name).subarray(h * head, (h + 1) * head);
    for (let h = 0; h < p.H; h++) {
      expected.set(
        naiveAttentionHead(part("Q", h), part("K", h), part("V", h), p.S, p.D, false),
        h * head,
      );
    }
    expectClose(outputs.get("O"), expected);
  });

  function naiveGatedMlp(
    X: Float32Array,
    Wg: Float32Array,
    Wu: Float32Array,
    Wd: Float32Array,
    T: number,
    H: number,
    F: number,
  ): Float64Array {
    const G = naiveMatmul(X, Wg, T, F, H);
    const U = naiveMatmul(X, Wu, T, F, H);
    const act = G.map((g, i) => g * sigmoid(g) * U[i]);
    return naiveMatmul(act, Wd, T, H, F);
  }

  it("llama4-scout-mlp", () => {
    const { params: p, inputs, outputs } = run("llama4-scout-mlp");
    const [X, Wg, Wu, Wd] = ["X", "Wg", "Wu", "Wd"].map((n) => tensor(inputs, n));
    expectClose(outputs.get("Y"), naiveGatedMlp(X, Wg, Wu, Wd, p.T, p.H, p.F));
  });

  it("deepseek-r1-moe: sigmoid router scores and the expert-0 FFN scaled by its score", () => {
    const { params: p, inputs, outputs } = run("deepseek-r1-moe");
    const [X, Wr, W1, W3, W2] = ["X", "Wr", "W1", "W3", "W2"].map((n) => tensor(inputs, n));
    const scores = naiveMatmul(X, Wr, p.T, p.E, p.H, true).map(sigmoid);
    expectClose(outputs.get("router_scores"), scores, 1e-6);
    const expert = naiveGatedMlp(X, W1, W3, W2, p.T, p.H, p.F);
    expectClose(
      outputs.get("Y"),
      expert.map((y, i) => y * scores[Math.floor(i / p.H) * p.E]),
    );
  });

  it("flux-conv: 3x3 pad-1 conv plus bias", () => {
    const { params: p, inputs, outputs } = run("flux-conv", { C: 3, O: 2, H: 5, W: 6 });
    const [X, Wt, bias] = ["X", "Wt", "bias"].map((n) => tensor(inputs, n));
    const expected = new Float64Array(p.O * p.H * p.W);
    for (let o = 0; o < p.O; o++)
      for (let y = 0; y < p.H; y++)
        for (let x = 0; x < p.W; x++) {
          let acc = bias[o];
          for (let c = 0; c < p.C; c++)
            for (let ry = 0; ry < 3; ry++)
              for (let rx = 0; rx < 3; rx++) {
                const iy = y + ry - 1;
                const ix = x + rx - 1;
                if (iy >= 0 && iy < p.H && ix >= 0 && ix < p.W) {
                  acc += X[(c * p.H + iy) * p.W + ix] * Wt[((o * p.C + c) * 3 + ry) * 3 + rx];
                }
              }
          expected[(o * p.H + y) * p.W + x] = acc;
        }
    expectClose(outputs.get("Y"), expected);
  });
});
