import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { flopCount, footprintBytes } from "../../src/ir/program.ts";
import {
  getWorkload,
  instantiate,
  instantiateShape,
  layerNames,
  listWorkloads,
  parseShapeOverrides,
  ShapeError,
  SIZE_NAMES,
  UnknownWorkloadError,
} from "../../src/workloads/registry.ts";

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;
const AXIS_NAME = /^[a-z]{1,3}$/;

describe("workload registry", () => {
  const workloads = listWorkloads();

  it("names the five model layers the benches compare strategies on", () => {
    expect(layerNames().sort()).toEqual([
      "deepseek-r1-moe",
      "flux-attention",
      "flux-conv",
      "llama3-8b-attention",
      "llama4-scout-mlp",
    ]);
  });

  it("holds the operators and the five paper layers, with unique names", () => {
    const names = workloads.map((w) => w.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        "matmul",
        "batch-matmul",
        "batch-matmul-nt",
        "conv2d",
        "softmax",
        "rmsnorm",
        "layernorm",
        "llama3-8b-attention",
        "deepseek-r1-moe",
        "flux-attention",
        "flux-conv",
        "llama4-scout-mlp",
      ]),
    );
    const layers = workloads.filter((w) => w.kind === "layer");
    expect(layers).toHaveLength(5);
    for (const layer of layers) expect(layer.source, layer.name).toBeTruthy();
  });

  for (const w of workloads) {
    it(`${w.name}: builds at every size with well-formed names`, () => {
      for (const size of SIZE_NAMES)
        expect(Object.keys(w.sizes[size]).sort()).toEqual(Object.keys(w.sizes.small).sort());
      for (const size of SIZE_NAMES) {
        const program = instantiate(w.name, size);
        expect(program.params).toEqual(w.sizes[size]);
        for (const t of program.inputs) expect(t.name).toMatch(IDENTIFIER);
        for (const s of program.stages) {
          expect(s.name).toMatch(IDENTIFIER);
          for (const a of [...s.axes, ...s.reduceAxes]) expect(a.name).toMatch(AXIS_NAME);
        }
      }
      // Small sizes must tune in seconds yet not be trivial.
      const smallFlops = flopCount(instantiate(w.name, "small"));
      expect(smallFlops).toBeGreaterThan(10_000);
      expect(smallFlops).toBeLessThan(5_000_000);
      expect(flopCount(instantiate(w.name, "paper"))).toBeGreaterThan(smallFlops);
    });
  }

  /**
   * Medium shapes must exceed the private L2 (2 MiB per core on the Zen 4 machines COLT is
   * measured on) twice over, so tiling, packing and loop order matter as at paper size.
   * The FLOP bound keeps a 64-trial tune under a minute on one core: the search's own work
   * per trial does not grow with the shape, and 2^28 FLOPs take at most ~0.27 s even at
   * 1 GFLOP/s, the speed of a scalar reduction chain (the unscheduled medium programs ran
   * in 1-55 ms at low load here), so a trial's warm-up and timed runs stay well under a
   * second, and tuned candidates are faster still.
   */
  const MEDIUM_MIN_BYTES = 4 * 2 ** 20;
  const MEDIUM_MAX_FLOPS = 2 ** 28;
  for (const w of workloads) {
    it(`${w.name}: medium data exceeds twice the private L2 within ${MEDIUM_MAX_FLOPS} FLOPs`, () => {
      const medium = instantiate(w.name, "medium");
      expect(footprintBytes(medium)).toBeGreaterThan(MEDIUM_MIN_BYTES);
      expect(flopCount(medium)).toBeLessThanOrEqual(MEDIUM_MAX_FLOPS);
      expect(flopCount(medium)).toBeGreaterThan(flopCount(instantiate(w.name, "small")));
      expect(flopCount(medium)).toBeLessThan(flopCount(instantiate(w.name, "paper")));
    });
  }

  it("counts every tensor once in the footprint: inputs, intermediates and outputs", () => {
    // A 64x32 + B 32x16 + C 64x16 floats.
    expect(footprintBytes(instantiate("matmul", "small", { M: 64, N: 16, K: 32 }))).toBe(
      4 * (64 * 32 + 32 * 16 + 64 * 16),
    );
    // X, exps and Y, plus the row_max and row_sum vectors.
    expect(footprintBytes(instantiate("softmax", "small", { rows: 3, cols: 5 }))).toBe(
      4 * (15 + 15 + 15 + 3 + 3),
    );
  });

  it("has a small size with odd extents", () => {
    const odd = workloads.filter((w) =>
      Object.values(w.sizes.small).some((v) => v > 1 && v % 2 === 1),
    );
    expect(odd.map((w) => w.name)).toEqual(expect.arrayContaining(["conv2d", "softmax"]));
  });
});

describe("FLOP counts", () => {
  it("matmul is 2*M*N*K", () => {
    expect(flopCount(instantiate("matmul", "small"))).toBe(2 * 64 ** 3);
    expect(flopCount(instantiate("matmul", "paper"))).toBe(2 * 1024 ** 3);
    expect(flopCount(instantiate("matmul", "small", { M: 13, N: 17, K: 5 }))).toBe(2 * 13 * 17 * 5);
  });

  it("batch-matmul and its transposed variant are 2*B*M*N*K", () => {
    for (const name of ["batch-matmul", "batch-matmul-nt"]) {
      const { B, M, N, K } = getWorkload(name).sizes.paper;
      expect(flopCount(instantiate(name, "paper"))).toBe(2 * B * M * N * K);
    }
  });

  it("conv2d is 2 per multiply-add plus one select per padded input element", () => {
    const check = (overrides: Record<string, number>) => {
      const p = instantiate("conv2d", "small", overrides).params;
      const OH = Math.floor((p.H + 2 * p.pad - p.KH) / p.stride) + 1;
      const OW = Math.floor((p.W + 2 * p.pad - p.KW) / p.stride) + 1;
      const macs = p.N * p.O * OH * OW * p.C * p.KH * p.KW;
      const padPoints = p.N * p.C * (p.H + 2 * p.pad) * (p.W + 2 * p.pad);
      expect(flopCount(instantiate("conv2d", "small", overrides))).toBe(2 * macs + padPoints);
    };
    check({});
    check({ stride: 2, pad: 2, KW: 5, W: 11 });
    // ResNet-50 3x3 layer: 2 * 64*64*9*56*56 MACs = 231.2 MFLOP, plus 64*58*58 selects.
    expect(flopCount(instantiate("conv2d", "paper"))).toBe(
      2 * 64 * 64 * 9 * 56 * 56 + 64 * 58 * 58,
    );
  });

  it("flux-conv adds one bias add per output element", () => {
    const conv = 2 * 512 * 512 * 9 * 32 * 32;
    expect(flopCount(instantiate("flux-conv", "paper"))).toBe(conv + 512 * 34 * 34 + 512 * 32 * 32);
  });
});

describe("parseShapeOverrides", () => {
  it("parses NAME=VALUE lists, tolerating spaces", () => {
    expect(parseShapeOverrides("M=1000,N=4095,K=333")).toEqual({ M: 1000, N: 4095, K: 333 });
    expect(parseShapeOverrides(" stride = 2 , pad=1 ")).toEqual({ stride: 2, pad: 1 });
    expect(parseShapeOverrides("")).toEqual({});
  });

  it.each([
    ["M", /not NAME=VALUE/],
    ["M=", /not a positive decimal integer/],
    ["M=abc", /not a positive decimal integer/],
    ["M=12x", /not a positive decimal integer/],
    ["M=2.5", /not a positive decimal integer/],
    ["M=0x10", /not a positive decimal integer/],
    ["M=0b11", /not a positive decimal integer/],
    ["M=1e3", /not a positive decimal integer/],
    ["M=+5", /not a positive decimal integer/],
    ["M=Infinity", /not a positive decimal integer/],
    ["M=0", /must be positive/],
    ["M=-4", /not a positive decimal integer/],
    ["M=1000000000000", /exceeds/],
    ["M=4,,N=3", /empty entry/],
    ["M=4,M=5", /given twice/],
    ["1M=4", /not a parameter name/],
  ])("rejects %j", (text, message) => {
    expect(() => parseShapeOverrides(text)).toThrow(ShapeError);
    expect(() => parseShapeOverrides(text)).toThrow(message);
  });
});

describe("instantiateShape", () => {
  it("ends every --shape error with the workload's parameters", () => {
    for (const shape of ["M=0x10", "M=1e3", "M=", " ", "M=4,,N=3", "__proto__=4", "Q=3"]) {
      expect(() => instantiateShape("matmul", "small", shape)).toThrow(ShapeError);
      expect(() => instantiateShape("matmul", "small", shape)).toThrow(/M, N, K/);
    }
  });

  it("refuses __proto__ by name instead of ignoring it", () => {
    expect(() => instantiateShape("matmul", "small", "__proto__=4")).toThrow(
      "workload 'matmul' has no parameter '__proto__'",
    );
  });

  it("builds the shape without --shape and with decimal values", () => {
    expect(instantiateShape("matmul", "small").params).toEqual({ M: 64, N: 64, K: 64 });
    expect(instantiateShape("matmul", "small", "M=010, N=7").params).toEqual({
      M: 10,
      N: 7,
      K: 64,
    });
  });
});

describe("instantiate errors", () => {
  it("names an unknown workload and lists the known ones", () => {
    expect(() => instantiate("matmull", "small")).toThrow(UnknownWorkloadError);
    expect(() => getWorkload("matmull")).toThrow(
      /'matmull'.*matmul, batch-matmul.*llama4-scout-mlp/,
    );
  });

  it("names an unknown parameter and lists the valid ones", () => {
    expect(() => instantiate("matmul", "small", { Q: 3 })).toThrow(ShapeError);
    expect(() => instantiate("matmul", "small", { Q: 3 })).toThrow(
      "workload 'matmul' has no parameter 'Q'; its parameters are M, N, K",
    );
    expect(() => instantiate("conv2d", "small", { M: 3 })).toThrow(/stride, pad/);
  });

  it("rejects non-positive or fractional override values and impossible shapes", () => {
    expect(() => instantiate("matmul", "small", { M: 0 })).toThrow(ShapeError);
    expect(() => instantiate("matmul", "small", { K: 1.5 })).toThrow(ShapeError);
    expect(() => instantiate("conv2d", "small", { H: 1, pad: 1, KH: 5 })).toThrow(
      /larger than the padded input/,
    );
  });

  it("rejects an unknown size name", () => {
    expect(() => instantiate("matmul", "huge" as "small")).toThrow(
      /sizes are small, medium, paper/,
    );
  });
});

describe("docs/workloads.md", () => {
  it("lists every workload with its current small and paper shapes", () => {
    const doc = readFileSync(new URL("../../docs/workloads.md", import.meta.url), "utf8");
    const shape = (params: Readonly<Record<string, number>>) =>
      Object.entries(params)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
    for (const w of listWorkloads()) {
      const row = doc.split("\n").find((line) => line.startsWith(`| \`${w.name}\` `));
      expect(row, `table row for ${w.name}`).toBeDefined();
      expect(row).toContain(`\`${shape(w.sizes.small)}\``);
      expect(row).toContain(`\`${shape(w.sizes.paper)}\``);
    }
  });
});
