/** Seeded random numbers: every choice in a search draws from one of these. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x5bd1e995;
  }

  /** mulberry32: small, fast and good enough for search decisions. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Random.pick from an empty list");
    return items[this.int(items.length)];
  }

  /** A derived generator, so sub-components stay deterministic independently. */
  fork(salt: number): Random {
    return new Random(Math.imul(this.int(2 ** 31) ^ salt, 2654435761));
  }
}
