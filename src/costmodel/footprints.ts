/**
 * Loop footprints: the bytes one iteration and one whole execution of each loop touch,
 * and the traffic that misses a cache of a given capacity.
 */
import type { StoreInfo } from "./nest-analysis.ts";

/** A node of the footprint tree: a loop (or the root), its children and its accesses. */
export interface FootNode {
  readonly trip: number;
  /** Fraction of entries that execute (guards). */
  readonly frac: number;
  readonly children: FootNode[];
  /** Per buffer: bytes of one iteration, bytes of the whole execution. */
  readonly iter: Map<string, number>;
  readonly whole: Map<string, number>;
  /** Accesses of stores directly in this loop (not in a child loop), one line each. */
  directAccesses: number;
  /** Stores below this loop, for the fit features. */
  readonly storesBelow: StoreInfo[];
}

export function newFoot(trip: number, frac: number): FootNode {
  const f: FootNode = {
    trip,
    frac,
    children: [],
    iter: new Map(),
    whole: new Map(),
    directAccesses: 0,
    storesBelow: [],
  };
  return f;
}

export function setMax(m: Map<string, number>, k: string, v: number): void {
  const prev = m.get(k);
  if (prev === undefined || v > prev) m.set(k, v);
}

export function sumMap(m: ReadonlyMap<string, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

/**
 * Bytes missing a cache of `capacity` bytes: the data of the outermost loop whose single
 * iteration fits is loaded once per execution of that loop; a kernel whose whole data
 * fits stays warm across calls.
 */
export function traffic(root: FootNode, capacity: number, lineBytes: number): number {
  if (sumMap(root.whole) <= capacity) return 0;
  const go = (node: FootNode, entries: number): number => {
    let t = node.directAccesses * lineBytes * entries * node.trip;
    for (const c of node.children) {
      const n = entries * node.trip * c.frac;
      if (sumMap(c.iter) <= capacity) t += sumMap(c.whole) * n;
      else t += go(c, n);
    }
    return t;
  };
  return go(root, 1);
}
