/**
 * Independent float64 references for the workload tests: plain nested loops over the same
 * seeded inputs the interpreter uses, written without the IR so a wrong index in a
 * workload definition cannot be mirrored here.
 */
import { expect } from "vitest";
import type { Program } from "../../src/ir/program.ts";
import { seededInput } from "../../src/ir/random-inputs.ts";

/** The inputs `interpret(program, seed)` sees, by tensor name. */
export function inputsOf(program: Program, seed: number): Map<string, Float32Array> {
  return new Map(
    program.inputs.map((t, i) => [
      t.name,
      seededInput(
        seed,
        i,
        t.shape.reduce((n, d) => n * d, 1),
      ),
    ]),
  );
}

export function tensor(inputs: Map<string, Float32Array>, name: string): Float32Array {
  const data = inputs.get(name);
  if (!data) throw new Error(`no tensor '${name}'`);
  return data;
}

/** fp32 results against a float64 reference: absolute plus relative tolerance. */
export function expectClose(
  actual: Float32Array | undefined,
  expected: ArrayLike<number>,
  tolerance = 1e-4,
): void {
  expect(actual).toBeDefined();
  const got = actual as Float32Array;
  expect(got.length).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      worstAt = i;
    }
  }
  expect(
    worst,
    `worst error at flat index ${worstAt}: ${got[worstAt]} vs ${expected[worstAt]}`,
  ).toBeLessThanOrEqual(tolerance);
}

/** C[m,n] = sum_k A[m,k] * B[k,n], with strides so transposed operands need no copy. */
export function naiveMatmul(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  M: number,
  N: number,
  K: number,
  bTransposed = false,
): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += A[i * K + k] * (bTransposed ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = acc;
    }
  }
  return C;
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** softmax(Q·K^T / sqrt(D)) · V for one head; Q, K, V are [S, D] slices. */
export function naiveAttentionHead(
  Q: ArrayLike<number>,
  K: ArrayLike<number>,
  V: ArrayLike<number>,
  S: number,
  D: number,
  causal: boolean,
): Float64Array {
  const out = new Float64Array(S * D);
  const scale = 1 / Math.sqrt(D);
  for (let s = 0; s < S; s++) {
    const keys = causal ? s + 1 : S;
    const logits = new Float64Array(keys);
    for (let t = 0; t < keys; t++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += Q[s * D + d] * K[t * D + d];
      logits[t] = dot * scale;
    }
    const max = Math.max(...logits);
    const weights = logits.map((l) => Math.exp(l - max));
    const total = weights.reduce((a, b) => a + b, 0);
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let t = 0; t < keys; t++) acc += weights[t] * V[t * D + d];
      out[s * D + d] = acc / total;
    }
  }
  return out;
}
