import { describe, expect, it } from "vitest";
import { AnswerError, parseAnswer, withoutTrailingCommas } from "../../src/models/llm/answer.ts";

const action = {
  transformations: ["split C.i 8 -> io ii"],
  next_model: "small",
  rationale: "tile rows",
};
const json = JSON.stringify(action);
const expected = {
  transformations: ["split C.i 8 -> io ii"],
  nextModel: "small",
  rationale: "tile rows",
};

describe("reading answers", () => {
  it("reads a plain JSON answer", () => {
    expect(parseAnswer(json)).toEqual(expected);
  });

  it("finds the object in prose, in code fences and with trailing commas", () => {
    expect(parseAnswer(`Sure. My plan:\n${json}\nGood luck!`)).toEqual(expected);
    expect(parseAnswer("```json\n" + json + "\n```")).toEqual(expected);
    expect(parseAnswer("Answer:\n```\n" + json + "\n```\nDone.")).toEqual(expected);
    const commas =
      '{"transformations": ["split C.i 8 -> io ii",], "next_model": "small", "rationale": "tile rows",}';
    expect(parseAnswer(commas)).toEqual(expected);
    expect(
      parseAnswer(
        `I think {"transformations": ["split C.i 8 -> io ii",],\n "next_model": "small", "rationale": "tile rows"} works`,
      ),
    ).toEqual(expected);
  });

  it("takes the last joint action when there are several, ignoring other objects", () => {
    const text = `Example format: {"a": 1}. First idea {"transformations": ["unroll C.k"], "next_model": "large"} — no, better: ${json}`;
    expect(parseAnswer(text)).toEqual(expected);
  });

  it("keeps braces and commas inside strings", () => {
    const t =
      '{"transformations": ["split C.i 8 -> io ii"], "next_model": "small", "rationale": "a {b}, c,]"}';
    expect(parseAnswer(t).rationale).toBe("a {b}, c,]");
    expect(withoutTrailingCommas('["a,]", 1,]')).toBe('["a,]", 1]');
  });

  it("returns transformations as written; the search validates them", () => {
    const a = parseAnswer(
      '{"transformations": ["vectorise everything", 42, {"x": 1}], "nextModel": "gpt-imaginary"}',
    );
    expect(a.transformations).toEqual(["vectorise everything", "42", '{"x":1}']);
    expect(a.nextModel).toBe("gpt-imaginary");
    expect(a.rationale).toBeUndefined();
  });

  it("accepts one transformation per line in a string and a missing next model", () => {
    const a = parseAnswer('{"transformations": "split C.i 8\\nunroll C.ii\\n"}');
    expect(a.transformations).toEqual(["split C.i 8", "unroll C.ii"]);
    expect(a.nextModel).toBe("");
  });

  it("refuses answers with no joint action", () => {
    expect(() => parseAnswer("")).toThrow(new AnswerError("empty answer"));
    expect(() => parseAnswer("I would split the i loop by 8.")).toThrow(
      /no JSON object in the answer: "I would split/,
    );
    expect(() => parseAnswer('{"plan": "split"}')).toThrow(/no 'transformations' list/);
    expect(() => parseAnswer('{"transformations": null}')).toThrow(AnswerError);
  });
});
