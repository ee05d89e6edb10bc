/**
 * Regenerates a section of a markdown document in place, between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`, leaving the rest untouched.
 */
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
