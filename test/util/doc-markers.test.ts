import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkMarkers,
  MissingDocumentError,
  MissingMarkersError,
  replaceBetweenMarkers,
} from "../../src/util/doc-markers.ts";

const doc = [
  "# Benchmarks",
  "<!-- bench:paper:start -->",
  "old table",
  "<!-- bench:paper:end -->",
  "## Below",
  "",
].join("\n");

describe("replaceBetweenMarkers", () => {
  it("regenerates the section in place and keeps the rest, twice in a row", () => {
    const once = replaceBetweenMarkers(doc, "bench:paper", "| new | table |\n");
    expect(once).toBe(doc.replace("old table", "\n| new | table |\n"));
    expect(replaceBetweenMarkers(once, "bench:paper", "| newer |")).toBe(
      doc.replace("old table", "\n| newer |\n"),
    );
  });

  it("names the file and the markers when the section is missing", () => {
    expect(() => replaceBetweenMarkers("# nothing", "bench:paper", "x", "docs/b.md")).toThrow(
      MissingMarkersError,
    );
    expect(() => replaceBetweenMarkers("# nothing", "bench:paper", "x", "docs/b.md")).toThrow(
      "docs/b.md has no '<!-- bench:paper:start -->'",
    );
  });
});

describe("checkMarkers", () => {
  const dir = mkdtempSync(join(tmpdir(), "colt-doc-"));
  const file = join(dir, "bench.md");
  writeFileSync(file, "# b\n<!-- bench:paper:start -->\nold\n<!-- bench:paper:end -->\n");

  it("accepts a document with every section", () => {
    expect(() => checkMarkers(file, ["bench:paper"])).not.toThrow();
  });

  it("names a missing document or section before any benchmark runs", () => {
    expect(() => checkMarkers(join(dir, "none.md"), ["bench:paper"])).toThrow(MissingDocumentError);
    expect(() => checkMarkers(file, ["bench:paper", "fidelity:paper"])).toThrow(
      /no '<!-- fidelity:paper:start -->'/,
    );
  });
});
