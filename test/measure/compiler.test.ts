import { describe, expect, it } from "vitest";
import { buildKey } from "../../src/measure/build.ts";
import { compilerArgv, detectCompiler } from "../../src/measure/compiler.ts";

describe("a compiler command with arguments", () => {
  it("is split into words like make does, without a shell", () => {
    expect(compilerArgv("  ccache   gcc-12 ")).toEqual(["ccache", "gcc-12"]);
    expect(compilerArgv("cc")).toEqual(["cc"]);
    expect(compilerArgv("env 'a b'")).toEqual(["env", "'a", "b'"]);
  });

  it("runs through its wrapper and keys the build cache with the whole command", () => {
    const plain = detectCompiler("cc");
    const wrapped = detectCompiler("env cc");
    expect(wrapped.argv).toEqual(["env", "cc"]);
    expect(wrapped.version).toBe(plain.version);
    expect(wrapped.flags).toEqual(plain.flags);
    expect(buildKey("int main(void){return 0;}", wrapped)).not.toBe(
      buildKey("int main(void){return 0;}", plain),
    );
  });
});
