/**
 * Gradient-boosted regression trees (squared loss) on quantile-binned features: small,
 * seeded and fast enough to retrain on every observation (a few ms for hundreds of
 * samples).
 *
 * Why not a library: ml-random-forest (via ml-cart) searches splits in O(n^2) per
 * feature and node; at 500 samples one tree takes ~100 ms, twenty times the whole
 * retraining budget of the cost model.
 */
import { Random } from "../util/random.ts";

export interface GbdtOptions {
  readonly trees: number;
  readonly depth: number;
  readonly learningRate: number;
  /** Fewest samples in a leaf. */
  readonly minLeaf: number;
  /** Fraction of samples each tree is fitted on (drawn without replacement). */
  readonly subsample: number;
  /** Fraction of features each tree may split on. */
  readonly colsample: number;
  /** Most bins per feature. */
  readonly bins: number;
  /** L2 regularisation of leaf values. */
  readonly lambda: number;
  readonly seed: number;
}

export const DEFAULT_GBDT: GbdtOptions = {
  trees: 100,
  depth: 4,
  learningRate: 0.1,
  minLeaf: 3,
  subsample: 0.8,
  colsample: 0.5,
  bins: 32,
  lambda: 1,
  seed: 1,
};

/** A tree as flat arrays; node 0 is the root, a leaf has feature -1. */
interface Tree {
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
}

export class GradientBoostedTrees {
  private constructor(
    private readonly base: number,
    private readonly trees: readonly Tree[],
  ) {}

  static fit(
    x: readonly (readonly number[])[],
    y: readonly number[],
    options: Partial<GbdtOptions> = {},
  ): GradientBoostedTrees {
    const o = { ...DEFAULT_GBDT, ...options };
    const n = y.length;
    if (n === 0) return new GradientBoostedTrees(0, []);
    const d = x[0].length;
    const base = y.reduce((a, b) => a + b, 0) / n;
    const binned = binFeatures(x, d, o.bins);
    const pred = new Float64Array(n).fill(base);
    const residual = new Float64Array(n);
    const rng = new Random(o.seed);
    const random = () => rng.next();
    const trees: Tree[] = [];
    const rows = Array.from({ length: n }, (_, i) => i);
    const cols = Array.from({ length: d }, (_, j) => j);
    const nRows = Math.max(1, Math.min(n, Math.round(n * o.subsample)));
    const nCols = Math.max(1, Math.min(d, Math.round(d * o.colsample)));
    for (let t = 0; t < o.trees; t++) {
      for (let i = 0; i < n; i++) residual[i] = y[i] - pred[i];
      shuffle(rows, random);
      shuffle(cols, random);
      const sample = Int32Array.from(rows.slice(0, nRows)).sort();
      const features = cols.slice(0, nCols).sort((a, b) => a - b);
      const tree = growTree(binned, residual, sample, features, o);
      for (let i = 0; i < n; i++) pred[i] += o.learningRate * evalTree(tree, x[i]);
      trees.push(scaleTree(tree, o.learningRate));
    }
    return new GradientBoostedTrees(base, trees);
  }

  predict(x: readonly number[]): number {
    let s = this.base;
    for (const t of this.trees) s += evalTree(t, x);
    return s;
  }
}

interface Binned {
  /** Column-major bin indices, n per feature. */
  readonly bins: Uint8Array[];
  /** Upper edges: bin b holds values <= cuts[b] (the last bin is unbounded). */
  readonly cuts: number[][];
}

function binFeatures(x: readonly (readonly number[])[], d: number, maxBins: number): Binned {
  const n = x.length;
  const bins: Uint8Array[] = [];
  const cuts: number[][] = [];
  for (let j = 0; j < d; j++) {
    const values = x.map((r) => r[j]).sort((a, b) => a - b);
    const unique: number[] = [];
    for (const v of values)
      if (unique.length === 0 || unique[unique.length - 1] !== v) unique.push(v);
    const c: number[] = [];
    if (unique.length <= maxBins) {
      for (let k = 0; k + 1 < unique.length; k++) c.push((unique[k] + unique[k + 1]) / 2);
    } else {
      for (let k = 1; k < maxBins; k++) {
        const q = values[Math.floor((k * n) / maxBins)];
        const prev = values[Math.floor((k * n) / maxBins) - 1];
        const cut = (q + prev) / 2;
        if (prev !== q && (c.length === 0 || cut > c[c.length - 1])) c.push(cut);
      }
    }
    const col = new Uint8Array(n);
    for (let i = 0; i < n; i++) col[i] = binOf(c, x[i][j]);
    bins.push(col);
    cuts.push(c);
  }
  return { bins, cuts };
}

/** Number of cuts below v: the bin of v. */
function binOf(cuts: readonly number[], v: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cuts[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function growTree(
  data: Binned,
  residual: Float64Array,
  sample: Int32Array,
  features: readonly number[],
  o: GbdtOptions,
): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const sums = new Float64Array(256);
  const counts = new Int32Array(256);
  const leaf = (idx: Int32Array, total: number) => total / (idx.length + o.lambda);
  const grow = (idx: Int32Array, depth: number): number => {
    const n = idx.length;
    let total = 0;
    for (let k = 0; k < n; k++) total += residual[idx[k]];
    const node = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    value.push(leaf(idx, total));
    if (depth >= o.depth || n < 2 * o.minLeaf) return node;
    const parentScore = (total * total) / (n + o.lambda);
    let bestGain = 1e-12;
    let bestFeature = -1;
    let bestBin = -1;
    for (const j of features) {
      const cuts = data.cuts[j];
      if (cuts.length === 0) continue;
      const col = data.bins[j];
      const nb = cuts.length + 1;
      sums.fill(0, 0, nb);
      counts.fill(0, 0, nb);
      for (let k = 0; k < n; k++) {
        const i = idx[k];
        const b = col[i];
        sums[b] += residual[i];
        counts[b]++;
      }
      let gl = 0;
      let nl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += sums[b];
        nl += counts[b];
        const nr = n - nl;
        if (nl < o.minLeaf) continue;
        if (nr < o.minLeaf) break;
        const gr = total - gl;
        const gain = (gl * gl) / (nl + o.lambda) + (gr * gr) / (nr + o.lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = j;
          bestBin = b;
        }
      }
    }
    if (bestFeature < 0) return node;
    const col = data.bins[bestFeature];
    let nl = 0;
    for (let k = 0; k < n; k++) if (col[idx[k]] <= bestBin) nl++;
    const l = new Int32Array(nl);
    const r = new Int32Array(n - nl);
    for (let k = 0, a = 0, c = 0; k < n; k++) {
      const i = idx[k];
      if (col[i] <= bestBin) l[a++] = i;
      else r[c++] = i;
    }
    feature[node] = bestFeature;
    threshold[node] = data.cuts[bestFeature][bestBin];
    left[node] = grow(l, depth + 1);
    right[node] = grow(r, depth + 1);
    return node;
  };
  grow(sample, 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
}

function evalTree(t: Tree, x: readonly number[]): number {
  let node = 0;
  while (t.feature[node] >= 0)
    node = x[t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
  return t.value[node];
}

function scaleTree(t: Tree, k: number): Tree {
  return { ...t, value: t.value.map((v) => v * k) };
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
