/**
 * The model-aware tree policy (docs/design.md):
 *   UCT = (1-λ)·Q + λ·φ(model) + c·sqrt(ln N_parent / n_child)
 *   φ(m) = (log size_max − log size_m) / (log size_max − log size_min)
 * with λ = 0 among siblings whose φ are all equal, unvisited children first (smaller
 * model first), and progressive widening of how many children a node may have.
 */
import type { TreeNode } from "./tree.ts";

export interface PolicyParams {
  /** Weight of the small-model preference φ. */
  readonly lambda: number;
  /** Exploration constant. */
  readonly c: number;
  /** A node may have at most ceil(wideningBase · visits^wideningAlpha) children. */
  readonly wideningBase: number;
  readonly wideningAlpha: number;
}

/**
 * λ is weighed against Q, a score that is logarithmic in time between the unscheduled
 * program and the roofline (a span of 3.4 natural-log units on llama3-8b-attention), so
 * λ·Δφ is worth a factor exp(λ·Δφ·span/(1-λ)) in time. At 0.2 the smallest model's child
 * beat a largest model's child up to 2.3x faster; at 0.05 the preference settles near-ties
 * (up to ~1.2x) and leaves real differences to Q.
 */
export const DEFAULT_POLICY: PolicyParams = {
  lambda: 0.05,
  c: 0.5,
  wideningBase: 1,
  wideningAlpha: 0.5,
};

/** φ for every model size: 1 for the smallest model, 0 for the largest. */
export function phiOf(sizes: ReadonlyMap<string, number>): (model: string) => number {
  const logs = [...sizes.values()].map(Math.log);
  const [lo, hi] = [Math.min(...logs), Math.max(...logs)];
  return (model) => {
    const size = sizes.get(model);
    if (size === undefined) throw new Error(`policy: unknown model '${model}'`);
    return hi > lo ? (hi - Math.log(size)) / (hi - lo) : 0;
  };
}

export function effectiveLambda(
  children: readonly TreeNode[],
  lambda: number,
  phi: (m: string) => number,
): number {
  const values = new Set(children.map((c) => phi(c.model)));
  return values.size <= 1 ? 0 : lambda;
}

export function wideningLimit(visits: number, p: PolicyParams): number {
  return Math.max(1, Math.ceil(p.wideningBase * Math.pow(Math.max(visits, 1), p.wideningAlpha)));
}

export function uct(
  child: TreeNode,
  parentVisits: number,
  lambdaEff: number,
  p: PolicyParams,
  phi: (m: string) => number,
): number {
  const explore = p.c * Math.sqrt(Math.log(Math.max(parentVisits, 1)) / child.visits);
  return (1 - lambdaEff) * child.q + lambdaEff * phi(child.model) + explore;
}

/** The child to descend into; undefined when the node has no selectable child. */
export function selectChild(
  node: TreeNode,
  p: PolicyParams,
  phi: (m: string) => number,
  sizes: ReadonlyMap<string, number>,
): TreeNode | undefined {
  const open = node.children.filter((c) => !exhausted(c));
  if (open.length === 0) return undefined;
  const unvisited = open.filter((c) => c.visits === 0);
  if (unvisited.length > 0) {
    return [...unvisited].sort(
      (a, b) => (sizes.get(a.model) ?? 0) - (sizes.get(b.model) ?? 0) || a.id - b.id,
    )[0];
  }
  const lambdaEff = effectiveLambda(open, p.lambda, phi);
  let best = open[0];
  let bestValue = -Infinity;
  for (const c of open) {
    const v = uct(c, node.visits, lambdaEff, p, phi);
    if (v > bestValue) {
      best = c;
      bestValue = v;
    }
  }
  return best;
}

/**
 * Select: descends from the root while the node is at its widening limit, and returns the
 * path to the node that takes the next child.
 */
export function selectPath(
  root: TreeNode,
  p: PolicyParams,
  phi: (m: string) => number,
  sizes: ReadonlyMap<string, number>,
): TreeNode[] {
  const path = [root];
  let node = root;
  for (;;) {
    const width = node.children.length + node.duplicates;
    const canWiden = !node.terminal && width < wideningLimit(node.visits, p);
    if (canWiden || node.children.length === 0) return path;
    const next = selectChild(node, p, phi, sizes);
    // No selectable child: this node takes the child (or, terminal, the expansion finds nothing).
    if (!next) return path;
    path.push(next);
    node = next;
  }
}

/** A subtree with nothing left to expand. */
export function exhausted(n: TreeNode): boolean {
  return n.terminal && n.children.every(exhausted);
}
