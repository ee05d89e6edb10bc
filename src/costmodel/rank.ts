/** Rank statistics for judging cost models: what matters to a search is the order. */

/** Ranks 1..n of `values`; tied values share the average of their ranks. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v || a.i - b.i);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && order[end].v === order[start].v) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k].i] = rank;
    start = end;
  }
  return ranks;
}

/**
 * Spearman rank correlation of two equally long series (ties get average ranks): the
 * Pearson correlation of their ranks. 0 when either series is constant or shorter than 2.
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length)
    throw new Error(`spearman: series differ in length (${a.length} vs ${b.length})`);
  if (a.some((x) => Number.isNaN(x)) || b.some((x) => Number.isNaN(x)))
    throw new Error("spearman: series contain NaN");
  const n = a.length;
  if (n < 2) return 0;
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const mean = (n + 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - mean;
    const y = rb[i] - mean;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  if (saa === 0 || sbb === 0) return 0;
  return sab / Math.sqrt(saa * sbb);
}
