/**
 * The one-line text form of transformations. Parsing and printing round-trip:
 * parseTransform(printTransform(t)) deep-equals t. This text is what LLMs write and
 * what reports show; docs/schedule-language.md documents it.
 */
import { ScheduleSyntaxError } from "./errors.ts";
import type { Trace, Transform } from "./transform.ts";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function printTransform(t: Transform): string {
  switch (t.kind) {
    case "split":
      return `split ${t.stage}.${t.loop} ${t.factor} -> ${t.outer} ${t.inner}`;
    case "tile":
      return `tile ${t.stage}.${t.loops[0]} ${t.stage}.${t.loops[1]} ${t.factors[0]} ${t.factors[1]} -> ${t.names.join(" ")}`;
    case "reorder":
      return `reorder ${t.stage} ${t.loops.join(" ")}`;
    case "fuse":
      return `fuse ${t.stage}.${t.outer} ${t.stage}.${t.inner} -> ${t.fused}`;
    case "parallel":
      return `parallel ${t.stage}.${t.loop}${t.chunk !== undefined ? ` dynamic ${t.chunk}` : ""}`;
    case "vectorize":
    case "unroll":
    case "pipeline":
      return `${t.kind} ${t.stage}.${t.loop}`;
    case "cache_write":
      return `cache_write ${t.stage} at ${t.at}`;
    case "pack":
    case "cache_read":
      return `${t.kind} ${t.tensor} in ${t.stage} at ${t.at}`;
    case "prepare":
      return `prepare ${t.tensor} in ${t.stage}`;
    case "compute_at":
      return `compute_at ${t.stage} at ${t.consumer}.${t.at}`;
    case "skip_masked":
    case "stream_store":
      return `${t.kind} ${t.stage}`;
    case "prefetch":
      return `prefetch ${t.tensor} in ${t.stage} at ${t.at} ahead ${t.ahead} ${t.distance}${t.spread ? " spread" : ""}`;
    case "compute_inline":
    case "winograd":
      return `${t.kind} ${t.stage}`;
    case "rfactor":
      return `rfactor ${t.stage}.${t.loop} ${t.factor} -> ${t.outer} ${t.inner}`;
  }
}

export function printTrace(trace: Trace): string {
  return trace.map(printTransform).join("\n") + (trace.length > 0 ? "\n" : "");
}

/** Parses one transformation; `line` is only used in error messages. */
export function parseTransform(text: string, line = 1): Transform {
  const fail = (reason: string): never => {
    throw new ScheduleSyntaxError(line, text.trim(), reason);
  };
  const [head, arrow, ...extra] = text.trim().split(/\s*->\s*/);
  if (extra.length > 0) fail("more than one '->'");
  const words = head.split(/\s+/).filter(Boolean);
  const names = arrow === undefined ? [] : arrow.split(/\s+/).filter(Boolean);
  for (const n of names) if (!NAME.test(n)) fail(`'${n}' is not a valid loop name`);
  const kind = words[0];
  const ident = (w: string | undefined, what: string): string => {
    if (w === undefined || !NAME.test(w))
      fail(`expected ${what}${w === undefined ? "" : `, got '${w}'`}`);
    return w as string;
  };
  const loopRef = (w: string | undefined): { stage: string; loop: string } => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(w ?? "");
    if (!m) fail(`expected STAGE.LOOP${w === undefined ? "" : `, got '${w}'`}`);
    return { stage: m![1], loop: m![2] };
  };
  const factor = (w: string | undefined): number => {
    const n = Number(w);
    if (w === undefined || !/^\d+$/.test(w) || n < 1)
      fail(`expected a positive integer factor${w === undefined ? "" : `, got '${w}'`}`);
    return n;
  };
  const arity = (n: number, usage: string) => {
    if (words.length !== n) fail(`expected '${usage}'`);
  };
  const named = (count: number, defaults: string[]): string[] => {
    if (names.length === 0) return defaults;
    if (names.length !== count) fail(`expected ${count} names after '->'`);
    return names;
  };
  const noNames = () => {
    if (arrow !== undefined) fail(`'${kind}' takes no '->' names`);
  };
  const keyword = (w: string | undefined, k: string) => {
    if (w !== k) fail(`expected '${k}'${w === undefined ? "" : `, got '${w}'`}`);
  };
  /** `TENSOR in STAGE at LOOP`, from the second word on. */
  const tensorInStageAt = () => {
    keyword(words[2], "in");
    keyword(words[4], "at");
    return {
      tensor: ident(words[1], "a tensor name"),
      stage: ident(words[3], "a stage name"),
      at: ident(words[5], "a loop name"),
    };
  };

  switch (kind) {
    case "split":
    case "rfactor": {
      arity(3, `${kind} STAGE.LOOP FACTOR [-> OUTER INNER]`);
      const { stage, loop } = loopRef(words[1]);
      const [outer, inner] = named(2, [`${loop}o`, `${loop}i`]);
      return { kind, stage, loop, factor: factor(words[2]), outer, inner };
    }
    case "tile": {
      arity(5, "tile STAGE.LOOP STAGE.LOOP FACTOR FACTOR [-> OUTER0 OUTER1 INNER0 INNER1]");
      const a = loopRef(words[1]);
      const b = loopRef(words[2]);
      if (a.stage !== b.stage) fail("both loops of a tile must belong to the same stage");
      const n = named(4, [`${a.loop}o`, `${b.loop}o`, `${a.loop}i`, `${b.loop}i`]);
      return {
        kind,
        stage: a.stage,
        loops: [a.loop, b.loop],
        factors: [factor(words[3]), factor(words[4])],
        names: [n[0], n[1], n[2], n[3]],
      };
    }
    case "reorder": {
      noNames();
      if (words.length < 4) fail("expected 'reorder STAGE LOOP LOOP ...' with at least two loops");
      return {
        kind,
        stage: ident(words[1], "a stage name"),
        loops: words.slice(2).map((w) => ident(w, "a loop name")),
      };
    }
    case "fuse": {
      arity(3, "fuse STAGE.OUTER STAGE.INNER [-> FUSED]");
      const a = loopRef(words[1]);
      const b = loopRef(words[2]);
      if (a.stage !== b.stage) fail("both loops of a fuse must belong to the same stage");
      const [fused] = named(1, [`${a.loop}${b.loop}`]);
      return { kind, stage: a.stage, outer: a.loop, inner: b.loop, fused };
    }
    case "parallel": {
      noNames();
      if (words.length === 2) return { kind, ...loopRef(words[1]) };
      arity(4, "parallel STAGE.LOOP [dynamic CHUNK]");
      keyword(words[2], "dynamic");
      return { kind, ...loopRef(words[1]), chunk: factor(words[3]) };
    }
    case "vectorize":
    case "unroll":
    case "pipeline": {
      noNames();
      arity(2, `${kind} STAGE.LOOP`);
      return { kind, ...loopRef(words[1]) };
    }
    case "cache_write": {
      noNames();
      arity(4, "cache_write STAGE at LOOP");
      keyword(words[2], "at");
      return { kind, stage: ident(words[1], "a stage name"), at: ident(words[3], "a loop name") };
    }
    case "pack":
    case "cache_read": {
      noNames();
      arity(6, `${kind} TENSOR in STAGE at LOOP`);
      return { kind, ...tensorInStageAt() };
    }
    case "prepare": {
      noNames();
      arity(4, "prepare TENSOR in STAGE");
      keyword(words[2], "in");
      return {
        kind,
        tensor: ident(words[1], "a tensor name"),
        stage: ident(words[3], "a stage name"),
      };
    }
    case "compute_at": {
      noNames();
      arity(4, "compute_at STAGE at CONSUMER.LOOP");
      keyword(words[2], "at");
      const { stage: consumer, loop } = loopRef(words[3]);
      return { kind, stage: ident(words[1], "a stage name"), consumer, at: loop };
    }
    case "compute_inline":
    case "skip_masked":
    case "stream_store":
    case "winograd": {
      noNames();
      arity(2, `${kind} STAGE`);
      return { kind, stage: ident(words[1], "a stage name") };
    }
    case "prefetch": {
      noNames();
      const usage = "prefetch TENSOR in STAGE at LOOP ahead LOOP DISTANCE [spread]";
      if (words.length !== 10) arity(9, usage);
      else keyword(words[9], "spread");
      keyword(words[6], "ahead");
      return {
        kind,
        ...tensorInStageAt(),
        ahead: ident(words[7], "a loop name"),
        distance: factor(words[8]),
        ...(words.length === 10 ? { spread: true } : {}),
      };
    }
    default:
      return fail(
        `unknown transformation '${kind ?? ""}' (known: split, tile, reorder, fuse, parallel, vectorize, unroll, cache_write, pack, prepare, cache_read, compute_at, compute_inline, skip_masked, stream_store, pipeline, prefetch, rfactor, winograd)`,
      );
  }
}

/** A schedule file: one transformation per line; blank lines and '#' comments are ignored. */
export function parseTrace(text: string): Transform[] {
  const out: Transform[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line) out.push(parseTransform(line, i + 1));
  });
  return out;
}
