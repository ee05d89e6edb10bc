/**
 * The blocked-chain recipe: the producers feeding a reduction stage (attention's scores,
 * row statistics and probabilities feeding P·V) computed per block of its rows, inside
 * the block loop, so a block's intermediates stay in cache and are never written whole.
 * Offered bare, and with the consumer and every chain member register-tiled or
 * vectorized (an untiled chain measures slower than tiled stages at the root, so the
 * search would not keep it long enough to tile it step by step).
 */
import { forEachRead, isWeight, type Cond, type Expr } from "../../ir/program.ts";
import type { Schedule } from "../../schedule/schedule.ts";
import { chainCandidates } from "../../schedule/consumers.ts";
import { stageDefinition, type StageState } from "../../schedule/state.ts";
import type { Transform } from "../../schedule/transform.ts";
import { registerTile, vectorizeInner, type AppliedRecipe, type TileChoice } from "./recipes.ts";
import { vectorReduction } from "./row-reductions.ts";

/**
 * Rows per block. K is packed once per block, so larger blocks pack it less often; at
 * paper size (Zen 5 VM, 1 thread) 128 rows measured 79.4 ms on flux-attention and 59.8 ms
 * on llama3-8b-attention against 84.3 and 66.5 ms with 64, and 256 no better than 128.
 */
export const CHAIN_BLOCK_ROWS = 128;

export function computeChainPerBlock(
  schedule: Schedule,
  st: StageState,
): AppliedRecipe | undefined {
  const stage = stageDefinition(schedule.state.program, st.name);
  const rows = stage.axes.at(-2);
  if (stage.reduceAxes.length === 0 || !rows || !st.loops.some((l) => l.name === rows.name))
    return undefined;
  const factor = Math.min(CHAIN_BLOCK_ROWS, Math.floor(rows.extent / 2));
  const fresh = (base: string) => {
    let n = base;
    for (let i = 2; st.usedNames.has(n); i++) n = `${base}${i}`;
    return n;
  };
  const [block, inner] = [fresh(`${rows.name}b`), fresh(`${rows.name}i`)];
  const split: Transform = {
    kind: "split",
    stage: st.name,
    loop: rows.name,
    factor,
    outer: block,
    inner,
  };
  const blocked = schedule.tryApply(split);
  if (!blocked.ok) return undefined;
  let current = blocked.schedule;
  const steps: Transform[] = [split];
  // Consumers first: a producer joins once every stage reading it is in the block.
  for (;;) {
    const producer = chainCandidates(current.state, st.name, block)[0];
    if (producer === undefined) break;
    const inline: Transform = { kind: "compute_inline", stage: producer };
    const inlined = cheapMap(current, producer) ? current.tryApply(inline) : undefined;
    if (inlined?.ok) {
      steps.push(inline);
      current = inlined.schedule;
      continue;
    }
    const step: Transform = { kind: "compute_at", stage: producer, consumer: st.name, at: block };
    const r = current.tryApply(step);
    if (!r.ok) break;
    steps.push(step);
    current = r.schedule;
  }
  const members = steps.flatMap((t) => (t.kind === "compute_at" ? [t.stage] : []));
  if (members.length < 2) return undefined;
  // A contraction against a weight computed per row block reads the whole weight once per
  // block (the MLP's gate and up projections inside the down projection's token blocks):
  // the chain pays only for producers that read activations (attention's scores and row
  // statistics).
  if (members.some((m) => readsWeight(schedule, m))) return undefined;
  const inlined = steps.flatMap((t) => (t.kind === "compute_inline" ? [t.stage] : []));
  const name =
    `compute ${members.length} producers per ${factor}-row block of ${st.name}` +
    (inlined.length > 0 ? `, ${inlined.join(", ")} inlined` : "");
  return { name, schedule: current, steps };
}

/** The chain, then a register tile (contractions) or a vector loop (the rest) per stage. */
export function tiledChainPerBlock(
  schedule: Schedule,
  st: StageState,
  c: TileChoice,
): AppliedRecipe | undefined {
  const chain = computeChainPerBlock(schedule, st);
  if (!chain) return undefined;
  let current = chain.schedule;
  const steps = [...chain.steps];
  const members = chain.steps.flatMap((t) => (t.kind === "compute_at" ? [t.stage] : []));
  for (const name of [st.name, ...members]) {
    const state = current.state.stages.find((x) => x.name === name);
    if (!state) continue;
    const tiled =
      chainTile(current, state, c) ??
      vectorizeInner(current, state, c) ??
      vectorReduction(current, state, c) ??
      interleavedRows(current, state);
    if (!tiled) continue;
    current = tiled.schedule;
    steps.push(...tiled.steps);
  }
  // Work a mask voids (causal attention's key blocks past a query block) is skipped.
  for (const name of [st.name, ...members]) {
    const r = current.tryApply({ kind: "skip_masked", stage: name });
    if (!r.ok) continue;
    current = r.schedule;
    steps.push({ kind: "skip_masked", stage: name });
  }
  if (steps.length === chain.steps.length) return undefined;
  return { name: `${chain.name}, each stage tiled`, schedule: current, steps };
}

/** Rows per group of independent accumulators in a row reduction. */
const INTERLEAVED_ROWS = 8;

/**
 * A row reduction that cannot be vectorized (its rows are strided): 8 rows reduced
 * together, accumulators in registers, so 8 independent chains hide the add latency.
 */
function interleavedRows(schedule: Schedule, st: StageState): AppliedRecipe | undefined {
  const spatial = st.loops.filter((l) => !l.reduce);
  const reductions = st.loops.filter((l) => l.reduce);
  const rows = spatial.at(-1);
  if (!rows || reductions.length === 0 || st.cacheWriteAt) return undefined;
  const [group, row] = [`${rows.name}g`, `${rows.name}8`];
  if (st.usedNames.has(group) || st.usedNames.has(row)) return undefined;
  const steps: Transform[] = [
    {
      kind: "split",
      stage: st.name,
      loop: rows.name,
      factor: INTERLEAVED_ROWS,
      outer: group,
      inner: row,
    },
    {
      kind: "reorder",
      stage: st.name,
      loops: [
        ...spatial.slice(0, -1).map((l) => l.name),
        group,
        ...reductions.map((l) => l.name),
        row,
      ],
    },
    { kind: "cache_write", stage: st.name, at: group },
    { kind: "unroll", stage: st.name, loop: row },
  ];
  let current = schedule;
  for (const t of steps) {
    const r = current.tryApply(t);
    if (!r.ok) return undefined;
    current = r.schedule;
  }
  return { name: `interleave ${INTERLEAVED_ROWS} rows of ${st.name}`, schedule: current, steps };
}

/**
 * A register tile; when it packs an operand per column panel, with the panel loop outside
 * the row loop: one packed panel serves every row of the block instead of being packed
 * again for each row group, and the accumulators stay one register tile.
 */
function chainTile(schedule: Schedule, st: StageState, c: TileChoice): AppliedRecipe | undefined {
  const plain = registerTile(schedule, st, c);
  const tiled = plain?.schedule.state.stages.find((x) => x.name === st.name);
  if (!tiled || tiled.copies.length === st.copies.length) return plain;
  return registerTile(schedule, st, c, true) ?? plain;
}

/**
 * An element-wise stage costing a multiply or a select per element (attention's scaled,
 * masked logits): recomputed by its consumers, it saves storing and reloading a block of
 * its values. flux-attention at paper size, one thread (Zen 5 VM), alternating four times:
 * a tuned schedule with the logits computed per block or inlined, 71.6-73.0 against
 * 69.8-71.3 ms (llama3-8b-attention 56.5-57.8 against 56.3-57.5 ms); the best of a 64-trial
 * tune without and with this, 73.3-74.9 against 69.1-71.3 ms.
 */
function cheapMap(schedule: Schedule, name: string): boolean {
  const stage = stageDefinition(schedule.state.program, name);
  return stage.reduceAxes.length === 0 && cheap(stage.body);
}

function cheap(e: Expr): boolean {
  switch (e.k) {
    case "const":
    case "read":
      return true;
    case "bin":
      return e.op !== "/" && cheap(e.a) && cheap(e.b);
    case "un":
      return (e.op === "neg" || e.op === "abs") && cheap(e.a);
    case "select":
      return cheapCond(e.cond) && cheap(e.a) && cheap(e.b);
  }
}

function cheapCond(c: Cond): boolean {
  switch (c.k) {
    case "icmp":
      return true;
    case "fcmp":
      return cheap(c.a) && cheap(c.b);
    default:
      return cheapCond(c.a) && cheapCond(c.b);
  }
}

function readsWeight(schedule: Schedule, stage: string): boolean {
  const p = schedule.state.program;
  let found = false;
  forEachRead(stageDefinition(p, stage).body, (r) => {
    if (isWeight(p, r.tensor)) found = true;
  });
  return found;
}
