/** Timing statistics of repeated runs. */
export interface TimingSummary {
  readonly medianMs: number;
  readonly minMs: number;
  /** Interquartile range over the median: robust to the odd interrupted run. */
  readonly spread: number;
  readonly reps: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  );
}

export function summarize(times: readonly number[]): TimingSummary {
  const sorted = [...times].sort((a, b) => a - b);
  const med = quantile(sorted, 0.5);
  return {
    medianMs: med,
    minMs: sorted[0],
    spread: med > 0 ? (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / med : 0,
    reps: sorted.length,
  };
}

/** One side measured over several rounds: the median of the rounds' medians and spreads, every repetition counted. */
export function pooledRounds(rounds: readonly TimingSummary[]): TimingSummary {
  if (rounds.length === 1) return rounds[0];
  return {
    medianMs: median(rounds.map((r) => r.medianMs)),
    minMs: Math.min(...rounds.map((r) => r.minMs)),
    spread: median(rounds.map((r) => r.spread)),
    reps: rounds.reduce((n, r) => n + r.reps, 0),
  };
}
