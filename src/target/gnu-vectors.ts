/**
 * The emitter's target-specific text: GNU C vector types. GCC and clang lower a generic
 * vector of any power-of-two width to the target's registers (a 16-lane vector is one
 * zmm, two ymm or four NEON q registers), so one form serves every target.
 */

/** Widths the emitter can write on every target; wider ones compile very poorly. */
export const EMITTABLE_VECTOR_WIDTHS: readonly number[] = [4, 8, 16, 32, 64];

export const vecType = (lanes: number) => `colt_v${lanes}`;
export const vecTypeUnaligned = (lanes: number) => `colt_v${lanes}u`;
export const maskType = (lanes: number) => `colt_i${lanes}`;

/** The typedefs a kernel using vectors of `lanes` fp32 lanes declares. */
export function vectorTypedefs(lanes: number): string[] {
  const bytes = lanes * 4;
  return [
    `typedef float ${vecType(lanes)} __attribute__((vector_size(${bytes})));`,
    `typedef float ${vecTypeUnaligned(lanes)} __attribute__((vector_size(${bytes}), aligned(4)));`,
    `typedef int ${maskType(lanes)} __attribute__((vector_size(${bytes})));`,
  ];
}
