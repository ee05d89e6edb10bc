import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ROUND_LENGTH } from "../../src/search/measure-round.ts";
import { DEFAULT_POLICY } from "../../src/search/policy.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DESIGN = join(ROOT, "docs", "design.md");
const design = () => readFileSync(DESIGN, "utf8");
/** The document as one line: quoted phrases may be wrapped anywhere. */
const designText = () => design().replace(/\s+/g, " ");

const sourceFiles = (): string[] =>
  readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join("src", f));
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const declares = (text: string, name: string) =>
  new RegExp(`\\b(?:class|interface|type|function|const|let)\\s+${name}\\b`).test(text);

/** Every match of `re` (global) in `text`, as its capture groups. */
function matches(text: string, re: RegExp): string[][] {
  return [...text.matchAll(re)].map((m) => m.slice(1));
}

describe("docs/design.md names what exists", () => {
  it("every repository path it names exists", () => {
    const paths = matches(
      design(),
      /(?<![\w/.-])((?:src|test|bench|docs|examples)\/[\w./-]*[\w/])/g,
    );
    expect(paths.length).toBeGreaterThan(30);
    expect(paths.map(([p]) => p).filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it("every relative link resolves", () => {
    const links = matches(design(), /\]\(([^)\s#]+)\)/g)
      .map(([l]) => l)
      .filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !existsSync(resolve(dirname(DESIGN), l)))).toEqual([]);
  });

  it("every `file:Symbol.member` names a symbol declared in that file", () => {
    const refs = matches(design(), /`((?:src|test|bench)\/[\w./-]+\.ts):([\w.]+)`/g);
    expect(refs.length).toBeGreaterThan(20);
    const missing = refs.filter(([file, symbol]) => {
      const text = read(file);
      const [name, ...members] = symbol.split(".");
      return !declares(text, name) || members.some((m) => !new RegExp(`\\b${m}\\b`).test(text));
    });
    expect(missing.map(([f, s]) => `${f}:${s}`)).toEqual([]);
  });

  it("every `Class.member` names a member of a class or interface in src", () => {
    const refs = matches(design(), /`([A-Z]\w+)\.(\w+)`/g);
    expect(refs.length).toBeGreaterThan(10);
    const texts = sourceFiles().map(read);
    const missing = refs.filter(
      ([owner, member]) =>
        !texts.some(
          (t) =>
            new RegExp(`\\b(?:class|interface)\\s+${owner}\\b`).test(t) &&
            new RegExp(`\\b${member}\\b`).test(t),
        ),
    );
    expect(missing.map(([o, m]) => `${o}.${m}`)).toEqual([]);
  });
});

describe("docs/design.md quotes the constants the code uses", () => {
  it("each `NAME` = value or `NAME` (value) matches the constant's definition", () => {
    const quoted = matches(design(), /`([A-Z][A-Z0-9_]{2,})`(?:\s+=\s+|\s+\()(\d+(?:\.\d+)?)/g);
    expect(quoted.length).toBeGreaterThan(8);
    const texts = sourceFiles().map(read);
    const wrong = quoted.flatMap(([name, value]) => {
      const defined = texts
        .map((t) => new RegExp(`\\bconst ${name} = ([\\d.]+);`).exec(t)?.[1])
        .find((v) => v !== undefined);
      return defined !== undefined && Number(defined) === Number(value)
        ? []
        : [`${name}: doc ${value}, code ${defined ?? "(no such constant)"}`];
    });
    expect(wrong).toEqual([]);
  });

  it("the policy defaults and round lengths", () => {
    const p = DEFAULT_POLICY;
    expect(designText()).toContain(
      `λ = ${p.lambda}, c = ${p.c}, wideningBase = ${p.wideningBase}, wideningAlpha = ${p.wideningAlpha}`,
    );
    expect(designText()).toContain(`A round is due after ${ROUND_LENGTH.expansions} expansions`);
  });
});

describe("the layer diagram of docs/design.md is the import order of src", () => {
  /** Layer folders as the diagram draws them, top first. */
  function diagramLayers(): string[] {
    const section = design().split("## Layers")[1].split("```")[1];
    return matches(section, /^\w+\s.*\bsrc\/(\w+)\/$/gm).map(([dir]) => dir);
  }

  it("draws every layer folder of src once", () => {
    const layers = diagramLayers();
    const folders = readdirSync(join(ROOT, "src"), { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== "util")
      .map((d) => d.name);
    expect([...layers].sort()).toEqual([...folders].sort());
  });

  it("a layer imports only layers drawn below it (and util)", () => {
    const rank = new Map(diagramLayers().map((l, i) => [l, i]));
    const violations: string[] = [];
    for (const file of sourceFiles()) {
      const from = file.split("/")[1];
      for (const [spec] of matches(read(file), /(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
        const to = relative(join(ROOT, "src"), resolve(ROOT, dirname(file), spec)).split("/")[0];
        if (to === from || to === "util") continue;
        if (!((rank.get(to) ?? -1) > (rank.get(from) ?? Infinity)))
          violations.push(`${file} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
