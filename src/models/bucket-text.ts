/**
 * A bucket file's text as a value: `.json` files as JSON, anything else as YAML. Syntax
 * errors give the line and column but never quote the file, because a bucket is where a
 * pasted key would sit; YAML aliases that expand too far (an "alias bomb") are refused
 * before they are expanded.
 */
import { extname } from "node:path";
import { LineCounter, parseDocument, type Document } from "yaml";
import { BucketError } from "./bucket-error.ts";

/**
 * Alias expansions allowed when a YAML bucket becomes a value (the yaml library's own
 * guard, `maxAliasCount`): ample for anchors shared between models, far below a bomb.
 */
export const MAX_YAML_ALIASES = 100;

export function parseBucketText(text: string, file: string): unknown {
  return extname(file).toLowerCase() === ".json" ? parseJson(text, file) : parseYaml(text, file);
}

interface ReadDocument {
  readonly where: string;
  readonly doc: Document;
}

/** The document, and where its first syntax error is (`at line 4, column 13: reason`). */
function readDocument(text: string, schema: "core" | "json"): ReadDocument {
  const lineCounter = new LineCounter();
  // prettyErrors would append the offending line to the message.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, schema });
  const [error] = doc.errors;
  if (!error) return { where: "", doc };
  const { line, col } = lineCounter.linePos(error.pos[0]);
  return { where: ` at line ${line}, column ${col}: ${withoutQuotes(error.message)}`, doc };
}

function parseYaml(text: string, file: string): unknown {
  const { where, doc } = readDocument(text, "core");
  if (where) throw new BucketError(`${file}: not valid YAML${where}`);
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    // toJS reports runaway and unresolvable aliases as ReferenceErrors.
    if (!(e instanceof ReferenceError)) throw e;
    throw new BucketError(
      /Excessive alias count/.test(e.message)
        ? `${file}: YAML aliases expand to more than ${MAX_YAML_ALIASES} copies; write the values out instead of nesting aliases`
        : `${file}: not valid YAML: ${withoutQuotes(e.message)}`,
    );
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // V8's message quotes the text around the error; the YAML parser (JSON is YAML)
    // locates it without quoting. Where YAML is more lenient (a trailing comma), the
    // error is given without a place.
    const { where } = readDocument(text, "json");
    throw new BucketError(
      `${file}: not valid JSON${where || `: ${withoutQuotes(e.message.split(",")[0])}`}`,
    );
  }
}

/** A parser's message without the parts of the file it quotes (`"sk-..."`, `'s'`). */
function withoutQuotes(message: string): string {
  return message
    .replace(/"[^]*"/g, "")
    .replace(/'[^']*'/g, "")
    .replace(/\s+/g, " ")
    .trim();
}
