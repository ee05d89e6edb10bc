/**
 * Reading a model's answer. With structured output the text is the JSON object; without
 * it models wrap it in prose or code fences and leave trailing commas, so the object is
 * extracted tolerantly. The transformations are returned as the model wrote them;
 * steps.ts reads them into typed steps.
 */

/** The answer holds no readable joint action. */
export class AnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AnswerError";
  }
}

const MAX_RATIONALE = 500;
const EXCERPT = 160;

/** The joint action as the model wrote it. */
export interface WrittenAnswer {
  readonly transformations: readonly string[];
  readonly nextModel: string;
  readonly rationale?: string;
}

export function parseAnswer(text: string): WrittenAnswer {
  const value = extractJsonObject(text);
  if (value === undefined) {
    const excerpt = text.trim().slice(0, EXCERPT).replace(/\s+/g, " ");
    throw new AnswerError(
      text.trim() === "" ? "empty answer" : `no JSON object in the answer: "${excerpt}"`,
    );
  }
  const raw = value.transformations;
  let transformations: string[];
  if (Array.isArray(raw)) {
    // A non-string item stays in the list (as JSON text) so it counts as an unreadable step.
    transformations = raw.map((t) => (typeof t === "string" ? t.trim() : JSON.stringify(t)));
  } else if (typeof raw === "string") {
    transformations = raw
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
  } else {
    throw new AnswerError("the answer's JSON object has no 'transformations' list");
  }
  const next = value.next_model ?? value.nextModel;
  const rationale = typeof value.rationale === "string" ? value.rationale.trim() : "";
  return {
    transformations,
    // A missing or non-string name is the search's to count (unknown model).
    nextModel: typeof next === "string" ? next.trim() : "",
    ...(rationale ? { rationale: rationale.slice(0, MAX_RATIONALE) } : {}),
  };
}

type JsonObject = Record<string, unknown>;

/**
 * The joint-action object in a text: the whole text if it is one; else the last fenced
 * block that holds one; else the last balanced {...} that parses (after removing trailing
 * commas) and has a "transformations" field.
 */
export function extractJsonObject(text: string): JsonObject | undefined {
  const whole = tryParse(text.trim());
  if (whole) return whole;
  const fenced = [...text.matchAll(/```[a-zA-Z]*\s*\n?([\s\S]*?)```/g)]
    .map((m) => tryParse(m[1].trim()))
    .filter((v): v is JsonObject => v !== undefined);
  const fencedAction = fenced.filter(isAction);
  if (fencedAction.length > 0) return fencedAction[fencedAction.length - 1];
  const candidates = balancedObjects(text)
    .map(tryParse)
    .filter((v): v is JsonObject => v !== undefined);
  const actions = candidates.filter(isAction);
  if (actions.length > 0) return actions[actions.length - 1];
  return fenced[fenced.length - 1] ?? candidates[candidates.length - 1];
}

function isAction(v: JsonObject): boolean {
  return "transformations" in v;
}

function tryParse(text: string): JsonObject | undefined {
  for (const t of [text, withoutTrailingCommas(text)]) {
    try {
      const v: unknown = JSON.parse(t);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as JsonObject;
    } catch {
      // Not JSON as it stands; the next form or the caller's next candidate may be.
    }
  }
  return undefined;
}

/** Removes commas directly before a closing bracket, outside strings. */
export function withoutTrailingCommas(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ",") {
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] === "}" || text[j] === "]") continue;
    }
    out += c;
  }
  return out;
}

/** Every outermost balanced {...} span of the text (string-aware). */
function balancedObjects(text: string): string[] {
  const spans: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === "{") {
      if (depth === 0) start = i;
      depth++;
    } else if (c === "}" && depth > 0) {
      depth--;
      if (depth === 0) spans.push(text.slice(start, i + 1));
    }
  }
  return spans;
}
