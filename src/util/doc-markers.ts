/**
 * Regenerates a section of a markdown document in place, between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`, leaving the rest untouched.
 */
import { existsSync, readFileSync } from "node:fs";

export class MissingMarkersError extends Error {
  constructor(
    readonly file: string,
    readonly marker: string,
  ) {
    super(
      `${file} has no '<!-- ${marker}:start -->' ... '<!-- ${marker}:end -->' section to regenerate`,
    );
    this.name = "MissingMarkersError";
  }
}

export function replaceBetweenMarkers(
  doc: string,
  marker: string,
  content: string,
  file = "the document",
): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end, from);
  if (from < 0 || to < 0) throw new MissingMarkersError(file, marker);
  // Blank lines around the content: the form Prettier gives markers around a table.
  return `${doc.slice(0, from + start.length)}\n\n${content.trim()}\n\n${doc.slice(to)}`;
}

export class MissingDocumentError extends Error {
  constructor(readonly file: string) {
    super(`${file} does not exist: give --doc a document that has the sections to regenerate`);
    this.name = "MissingDocumentError";
  }
}

/** Checks, before an hour of benchmarking, that `file` has every section it will regenerate. */
export function checkMarkers(file: string, markers: readonly string[]): void {
  if (!existsSync(file)) throw new MissingDocumentError(file);
  const doc = readFileSync(file, "utf8");
  for (const marker of markers) replaceBetweenMarkers(doc, marker, "", file);
}
