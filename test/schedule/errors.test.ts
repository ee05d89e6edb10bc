/**
 * Refusals: every refused transformation names the stage, the loop (when one is involved)
 * and the reason, because that message is what a proposing model reads back.
 */
import { describe, expect, it } from "vitest";
import { ScheduleError } from "../../src/schedule/errors.ts";
import { Schedule } from "../../src/schedule/schedule.ts";
import { parseTrace } from "../../src/schedule/text.ts";
import { instantiate } from "../../src/workloads/registry.ts";

/** Replays `text` on a small workload and returns the refusal it must end in. */
function refusal(workload: string, text: string): ScheduleError {
  const trace = parseTrace(text);
  try {
    Schedule.fromTrace(instantiate(workload, "small"), trace);
  } catch (e) {
    expect(e).toBeInstanceOf(ScheduleError);
    const err = e as ScheduleError;
    // The refused step is the last one: every step before it is legal.
    expect(err.step).toBe(trace.length);
    expect(err.message).toContain(`step ${trace.length}: `);
    expect(err.message).toContain(err.reason);
    return err;
  }
  throw new Error(`expected '${text}' to be refused on ${workload}`);
}

interface Case {
  readonly name: string;
  readonly workload: string;
  readonly trace: string;
  readonly stage: string;
  readonly loop: string | undefined;
  readonly reason: RegExp;
}

const CASES: readonly Case[] = [
  {
    name: "unknown stage",
    workload: "matmul",
    trace: "split Z.i 4",
    stage: "Z",
    loop: undefined,
    reason: /^unknown stage \(stages: C\)$/,
  },
  {
    name: "unknown loop",
    workload: "matmul",
    trace: "split C.q 4",
    stage: "C",
    loop: "q",
    reason: /^no such loop \(loops: i, j, k\)$/,
  },
  {
    name: "vectorizing a loop that is not innermost",
    workload: "matmul",
    trace: "vectorize C.j",
    stage: "C",
    loop: "j",
    reason: /only the innermost loop can be vectorized \(k is inside it\)/,
  },
  {
    name: "vectorizing a reduction loop with no vector accumulator",
    workload: "matmul",
    trace: "vectorize C.k",
    stage: "C",
    loop: "k",
    reason:
      /cannot vectorize reduction loop k: lanes would race on one accumulator; cache_write C at a loop outside every reduction loop first/,
  },
  {
    name: "vectorizing a reduction loop whose accumulator is inside the reduction",
    workload: "rmsnorm",
    trace:
      "split sum_sq.j 16 -> jo jl\nsplit sum_sq.i 8 -> io ii\nreorder sum_sq io jo ii jl\ncache_write sum_sq at jo\nvectorize sum_sq.jl",
    stage: "sum_sq",
    loop: "jl",
    reason: /cannot vectorize reduction loop jl: lanes would race on one accumulator/,
  },
  {
    name: "a vectorized reduction whose accumulator is not in registers",
    workload: "rmsnorm",
    trace:
      "split sum_sq.j 16 -> jo jl\nsplit sum_sq.i 8 -> io ii\ncache_write sum_sq at io\nvectorize sum_sq.jl",
    stage: "sum_sq",
    loop: "io",
    reason:
      /the vector accumulator of the vectorized reduction must live in registers; unroll the spatial loops inside io \(sum_sq\.ii\)/,
  },
  {
    name: "a reorder that moves a reduction loop outside the vector accumulator",
    workload: "rmsnorm",
    trace:
      "split sum_sq.j 16 -> jo jl\ncache_write sum_sq at i\nvectorize sum_sq.jl\nreorder sum_sq jo i",
    stage: "sum_sq",
    loop: "jl",
    reason: /cannot vectorize reduction loop jl: lanes would race on one accumulator/,
  },
  {
    name: "vectorizing with an unsupported width",
    workload: "matmul",
    trace: "split C.j 10 -> jo ji\nreorder C i jo k ji\nvectorize C.ji",
    stage: "C",
    loop: "ji",
    reason: /vector width must be one of 4, 8, 16, 32, 64, the loop's extent is 10; split it first/,
  },
  {
    name: "vectorizing a non-contiguous store (matmul with i innermost)",
    workload: "matmul",
    trace: "reorder C j k i\nvectorize C.i",
    stage: "C",
    loop: "i",
    reason: /store to C is not contiguous along the vectorized loop \(stride 64 elements\)/,
  },
  {
    name: "vectorizing a non-contiguous read (transposed operand along j)",
    workload: "batch-matmul-nt",
    trace: "split C.j 8 -> jo jl\nreorder C b i jo k jl\nvectorize C.jl",
    stage: "C",
    loop: "jl",
    reason:
      /read of Bm is not contiguous along the vectorized loop \(stride 24 elements\); reorder or pack/,
  },
  {
    name: "vectorizing a guarded read that lanes could take out of bounds (inlined padding)",
    workload: "conv2d",
    trace:
      "compute_inline padded\nsplit Y.x 4 -> xo xi\nreorder Y n o y xo c ry rx xi\nvectorize Y.xi",
    stage: "Y",
    loop: "xi",
    reason: /'X' is read under a select guard/,
  },
  {
    name: "parallelizing a reduction loop without rfactor",
    workload: "matmul",
    trace: "parallel C.k",
    stage: "C",
    loop: "k",
    reason: /cannot parallelize a reduction loop; use rfactor/,
  },
  {
    name: "nested parallelism",
    workload: "matmul",
    trace: "parallel C.i\nparallel C.j",
    stage: "C",
    loop: "j",
    reason: /loop i is already parallel; nested parallelism is not supported/,
  },
  {
    name: "split factor equal to the extent",
    workload: "matmul",
    trace: "split C.i 64",
    stage: "C",
    loop: "i",
    reason: /^split factor 64 must be between 2 and 63 \(the loop's extent is 64\)$/,
  },
  {
    name: "split factor 1",
    workload: "softmax",
    trace: "split Y.j 1",
    stage: "Y",
    loop: "j",
    reason: /^split factor 1 must be between 2 and 76 \(the loop's extent is 77\)$/,
  },
  {
    name: "unrolling a loop that is too long",
    workload: "rmsnorm",
    trace: "unroll Y.j",
    stage: "Y",
    loop: "j",
    reason: /can only unroll loops with extent 2\.\.64, this one has 320; split it first/,
  },
  {
    name: "unrolling nested loops beyond the unroll budget",
    workload: "matmul",
    trace: "unroll C.i\nunroll C.j",
    stage: "C",
    loop: "j",
    reason: /unrolling expands the body to 4096 copies \(at most 2048\)/,
  },
  {
    name: "compute_inline of a reduction stage",
    workload: "softmax",
    trace: "compute_inline row_max",
    stage: "row_max",
    loop: undefined,
    reason: /has a reduction; only element-wise stages can be inlined \(use compute_at instead\)/,
  },
  {
    name: "compute_inline of an output",
    workload: "deepseek-r1-moe",
    trace: "compute_inline router_scores",
    stage: "router_scores",
    loop: undefined,
    reason: /is an output of the program and cannot be inlined/,
  },
  {
    name: "compute_at of a stage with a consumer computed elsewhere",
    workload: "softmax",
    trace: "compute_at exps at Y.i",
    stage: "exps",
    loop: undefined,
    reason:
      /compute_at needs every consumer of 'exps' to be Y or computed at Y\.i; 'exps' is read by row_sum, Y \(row_sum not there\)/,
  },
  {
    name: "compute_at in a stage that does not read the producer",
    workload: "softmax",
    trace: "compute_at row_max at Y.i",
    stage: "row_max",
    loop: undefined,
    reason:
      /compute_at needs every consumer of 'row_max' to be Y or computed at Y\.i; 'row_max' is read by exps/,
  },
  {
    name: "compute_at of an output",
    workload: "deepseek-r1-moe",
    trace: "compute_at router_scores at Y.t",
    stage: "router_scores",
    loop: undefined,
    reason: /is an output of the program; it must be computed at the root/,
  },
  {
    name: "compute_at at a loop the consumer does not have",
    workload: "softmax",
    trace: "compute_at row_sum at Y.q",
    stage: "Y",
    loop: "q",
    reason: /no such loop \(loops: i, j\)/,
  },
  {
    name: "pack of a tensor the stage does not read",
    workload: "llama4-scout-mlp",
    trace: "pack Wd in gate_proj at t",
    stage: "gate_proj",
    loop: "t",
    reason: /stage does not read tensor 'Wd'/,
  },
  {
    name: "cache_read of a tensor the stage does not read",
    workload: "softmax",
    trace: "cache_read row_sum in row_max at i",
    stage: "row_max",
    loop: "i",
    reason: /stage does not read tensor 'row_sum'/,
  },
  {
    name: "split into a name the stage already has",
    workload: "matmul",
    trace: "split C.i 8 -> j i1",
    stage: "C",
    loop: "i",
    reason: /loop name 'j' is already used in this stage; choose another with '-> NAMES'/,
  },
  {
    name: "split into a name an earlier split created",
    workload: "matmul",
    trace: "split C.i 8 -> io ii\nsplit C.j 8 -> io ji",
    stage: "C",
    loop: "j",
    reason: /loop name 'io' is already used in this stage/,
  },
  {
    name: "split into two equal names",
    workload: "matmul",
    trace: "split C.i 8 -> io io",
    stage: "C",
    loop: "i",
    reason: /the two new loops need different names/,
  },
  {
    name: "fuse into a name the stage already has",
    workload: "matmul",
    trace: "fuse C.i C.j -> k",
    stage: "C",
    loop: "i",
    reason: /loop name 'k' is already used in this stage/,
  },
  {
    name: "rfactor after another transformation of the stage",
    workload: "matmul",
    trace: "split C.i 8\nrfactor C.k 8",
    stage: "C",
    loop: "k",
    reason: /rfactor must come before any other transformation of the stage/,
  },
  {
    name: "rfactor of a spatial axis",
    workload: "rmsnorm",
    trace: "rfactor sum_sq.i 8",
    stage: "sum_sq",
    loop: "i",
    reason: /rfactor needs an original reduction axis \(reduction axes: j\)/,
  },
  {
    name: "winograd of a stage that is not a convolution",
    workload: "matmul",
    trace: "winograd C",
    stage: "C",
    loop: undefined,
    reason: /^winograd needs a stride-1 3x3 convolution: a sum over \(c, ry, rx\)/,
  },
  {
    name: "winograd of a convolution with an odd output size",
    workload: "conv2d",
    trace: "winograd Y",
    stage: "Y",
    loop: undefined,
    reason: /^winograd F\(2x2,3x3\) needs an even output height and width \(here 13x13\)$/,
  },
  {
    name: "winograd after another transformation of the stage",
    workload: "flux-conv",
    trace: "split conv.o 4\nwinograd conv",
    stage: "conv",
    loop: undefined,
    reason: /^winograd must come before any other transformation of the stage$/,
  },
  {
    name: "prepare of an input that is not a weight",
    workload: "matmul",
    trace: "prepare A in C",
    stage: "C",
    loop: undefined,
    reason:
      /^'A' is not a weight \(weights: B\) nor computed from weights alone; only tensors constant across calls can be prepared once; use pack$/,
  },
  {
    name: "prepare of an intermediate",
    workload: "llama4-scout-mlp",
    trace: "prepare act in Y",
    stage: "Y",
    loop: undefined,
    reason: /^'act' is not a weight \(weights: Wg, Wu, Wd\)/,
  },
  {
    name: "prepare of a weight the stage does not read",
    workload: "llama4-scout-mlp",
    trace: "prepare Wd in gate_proj",
    stage: "gate_proj",
    loop: undefined,
    reason: /^stage does not read weight 'Wd'$/,
  },
  {
    name: "prepare twice",
    workload: "matmul",
    trace: "prepare B in C\nprepare B in C",
    stage: "C",
    loop: undefined,
    reason: /^'B' is already prepared for this stage$/,
  },
  {
    name: "prepare of a packed weight",
    workload: "matmul",
    trace: "pack B in C at i\nprepare B in C",
    stage: "C",
    loop: undefined,
    reason: /^'B' is already copied in this stage with a pack or cache_read$/,
  },
  {
    name: "pack of a prepared weight",
    workload: "matmul",
    trace: "prepare B in C\npack B in C at i",
    stage: "C",
    loop: "i",
    reason: /^'B' is already copied in this stage$/,
  },
  {
    name: "prepare that would repeat the weight (a fused loop indexes it)",
    workload: "matmul",
    trace: "fuse C.i C.j -> ij\nprepare B in C",
    stage: "C",
    loop: undefined,
    reason:
      /^prepared 'B' would need 262144 floats for the weight's 4096 \(at most 2x\): the loops indexing it \(C.ij, C.k\) pad or repeat it too much$/,
  },
  {
    name: "prepare in a stage computed inside another one's loop",
    workload: "llama4-scout-mlp",
    trace: "compute_at gate_proj at act.f\nprepare Wg in gate_proj",
    stage: "gate_proj",
    loop: undefined,
    reason:
      /^'Wg' is indexed by loops of another stage \(act.f\); prepare needs a stage computed at the root$/,
  },
];

describe("schedule refusals name the stage, the loop and the reason", () => {
  it.each(CASES)("$name", (c) => {
    const err = refusal(c.workload, c.trace);
    expect(err.stage).toBe(c.stage);
    expect(err.loop).toBe(c.loop);
    expect(err.reason).toMatch(c.reason);
    const where = c.loop ? `stage ${c.stage}, loop ${c.loop}: ` : `stage ${c.stage}: `;
    expect(err.message).toContain(where);
  });

  it("tryApply returns the refusal instead of throwing it", () => {
    const s = Schedule.initial(instantiate("matmul", "small"));
    const r = s.tryApply({ kind: "parallel", stage: "C", loop: "k" });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.stage).toBe("C");
      expect(r.error.loop).toBe("k");
      expect(r.error.step).toBeUndefined();
      expect(r.error.message).toBe(
        "stage C, loop k: cannot parallelize a reduction loop; use rfactor to split the reduction and combine the parts first",
      );
    }
  });
});
