/**
 * Transformations as data. A schedule is a program plus the list of transformations
 * applied to it so far: the trace. Each transformation has a one-line text form
 * (see text.ts and docs/schedule-language.md).
 */
export type Transform =
  | {
      readonly kind: "split";
      readonly stage: string;
      readonly loop: string;
      readonly factor: number;
      readonly outer: string;
      readonly inner: string;
    }
  | {
      readonly kind: "tile";
      readonly stage: string;
      readonly loops: readonly [string, string];
      readonly factors: readonly [number, number];
      /** outer0, outer1, inner0, inner1 */
      readonly names: readonly [string, string, string, string];
    }
  | { readonly kind: "reorder"; readonly stage: string; readonly loops: readonly string[] }
  | {
      readonly kind: "fuse";
      readonly stage: string;
      readonly outer: string;
      readonly inner: string;
      readonly fused: string;
    }
  | {
      readonly kind: "parallel";
      readonly stage: string;
      readonly loop: string;
      /**
       * Iterations handed out in chunks of this many to whichever thread is free (OpenMP
       * `schedule(dynamic)`), instead of one equal part per thread: where the cores' speed
       * varies while they run (a busy neighbour, a shared memory bus), the parts even out.
       */
      readonly chunk?: number;
    }
  | { readonly kind: "vectorize"; readonly stage: string; readonly loop: string }
  | { readonly kind: "unroll"; readonly stage: string; readonly loop: string }
  | { readonly kind: "cache_write"; readonly stage: string; readonly at: string }
  | { readonly kind: "pack"; readonly stage: string; readonly tensor: string; readonly at: string }
  | { readonly kind: "prepare"; readonly stage: string; readonly tensor: string }
  | {
      readonly kind: "cache_read";
      readonly stage: string;
      readonly tensor: string;
      readonly at: string;
    }
  | {
      readonly kind: "compute_at";
      readonly stage: string;
      readonly consumer: string;
      readonly at: string;
    }
  | { readonly kind: "compute_inline"; readonly stage: string }
  | { readonly kind: "skip_masked"; readonly stage: string }
  | { readonly kind: "stream_store"; readonly stage: string }
  | { readonly kind: "pipeline"; readonly stage: string; readonly loop: string }
  | {
      readonly kind: "prefetch";
      readonly stage: string;
      readonly tensor: string;
      /** The loop whose body issues the prefetch, once per iteration. */
      readonly at: string;
      /** The loop (at or outside `at`) whose iteration `distance` steps ahead is fetched. */
      readonly ahead: string;
      readonly distance: number;
      /**
       * Fetch all of that iteration's data into L1, a share per iteration of the loops
       * between `ahead` and `at`, instead of what the stage reads first, into L2.
       */
      readonly spread?: boolean;
    }
  | {
      readonly kind: "rfactor";
      readonly stage: string;
      readonly loop: string;
      readonly factor: number;
      readonly outer: string;
      readonly inner: string;
    }
  | { readonly kind: "winograd"; readonly stage: string };

export type TransformKind = Transform["kind"];

export const TRANSFORM_KINDS: readonly TransformKind[] = [
  "split",
  "tile",
  "reorder",
  "fuse",
  "parallel",
  "vectorize",
  "unroll",
  "cache_write",
  "pack",
  "prepare",
  "cache_read",
  "compute_at",
  "compute_inline",
  "skip_masked",
  "stream_store",
  "pipeline",
  "prefetch",
  "rfactor",
  "winograd",
];

export type Trace = readonly Transform[];
