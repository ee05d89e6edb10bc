/**
 * Register tile shapes the offline recipes try, in units of the target's vector
 * registers, so one list serves every target: nr is a whole number of vectors, and mr
 * shrinks until the mr x (nr / width) accumulators leave registers for the operands.
 */
import type { Target } from "../../target/target.ts";
import type { TileChoice } from "./recipes.ts";

interface TileShape {
  readonly mr: number;
  /** Vectors across the tile's columns. */
  readonly vectors: number;
  /** Half-width vectors (for narrow outputs). */
  readonly half?: boolean;
  readonly kc: number;
}

/** The shapes that reach the x86-avx512 peak (8 x 2 vectors of accumulators, and neighbours). */
const SHAPES: readonly TileShape[] = [
  { mr: 8, vectors: 2, kc: 256 },
  { mr: 4, vectors: 2, kc: 128 },
  { mr: 8, vectors: 1, kc: 64 },
  { mr: 6, vectors: 2, kc: 256 },
  { mr: 4, vectors: 2, half: true, kc: 32 },
];

/** The tallest tile the shapes ask for. */
const MAX_TILE_ROWS = Math.max(...SHAPES.map((s) => s.mr));

/** Registers left for the operands (a broadcast row element, a column vector) and addresses. */
const OPERAND_REGISTERS = 4;

export function tileChoices(target: Target): TileChoice[] {
  const narrowest = Math.min(...target.vectorWidths);
  const widths = [...target.vectorWidths].sort((a, b) => b - a);
  const out: Omit<TileChoice, "widestNr">[] = [];
  for (const s of SHAPES) {
    const width = Math.max(narrowest, s.half ? target.isa.lanes / 2 : target.isa.lanes);
    const registersPerVector = Math.max(1, width / target.isa.lanes);
    const accumulators = s.vectors * registersPerVector;
    const maxRows = Math.min(
      MAX_TILE_ROWS,
      Math.floor((target.isa.registers - OPERAND_REGISTERS) / accumulators),
    );
    const mr = Math.min(s.mr, maxRows);
    const choice = { mr, nr: width * s.vectors, width, kc: s.kc, maxRows, widths };
    if (!out.some((c) => c.mr === mr && c.nr === choice.nr && c.width === width && c.kc === s.kc))
      out.push(choice);
  }
  const widestNr = Math.max(...out.map((c) => c.nr));
  return out.map((c) => ({ ...c, widestNr }));
}
