/**
 * Seeded input data shared bit-for-bit by the C harness (codegen/harness.ts mirrors it)
 * and the TypeScript reference interpreter: xorshift32 per input tensor, values uniform
 * in [-1, 1) with 24 significant bits, so they are exact in fp32.
 */
export function inputStreamSeed(seed: number, inputIndex: number): number {
  // Knuth's multiplicative mix keeps streams of different inputs apart; never zero.
  const s =
    (Math.imul((seed >>> 0) ^ 0x9e3779b9, 2654435761) + Math.imul(inputIndex + 1, 40503)) >>> 0;
  return s === 0 ? 1 : s;
}

export function seededInput(seed: number, inputIndex: number, size: number): Float32Array {
  const out = new Float32Array(size);
  let x = inputStreamSeed(seed, inputIndex);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x >>> 8) * (2 / 16777216) - 1;
  }
  return out;
}
