/** Output comparison: relative L2 error, which tolerates reassociated reductions. */
export const DEFAULT_TOLERANCE = 1e-4;

export function relativeL2Error(candidate: Float32Array, reference: Float32Array): number {
  if (candidate.length !== reference.length) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i];
    const c = candidate[i];
    if (Number.isNaN(c) !== Number.isNaN(r)) return Infinity;
    if (!Number.isFinite(r) || !Number.isFinite(c)) {
      if (c !== r && !(Number.isNaN(c) && Number.isNaN(r))) return Infinity;
      continue;
    }
    diff += (c - r) * (c - r);
    norm += r * r;
  }
  if (norm === 0) return diff === 0 ? 0 : Infinity;
  return Math.sqrt(diff / norm);
}
