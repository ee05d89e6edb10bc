/** The targets COLT builds for. Adding one: see "Adding a target" in docs/design.md. */
import type { Target } from "./target.ts";

const GNU_OPTIONS = {
  // GNU mode (never -std=c99: it turns off FMA contraction); OpenMP; no errno from math.
  common: ["-O3", "-fopenmp", "-fno-math-errno"],
};

export const X86_AVX512: Target = {
  name: "x86-avx512",
  description: "x86-64 with AVX-512: 16 fp32 lanes, 32 zmm registers",
  isa: {
    arch: "x86_64",
    lanes: 16,
    vectorBytes: 64,
    registers: 32,
    registerName: "zmm",
    fmaPorts: 2,
    chainLatency: { add: 4, max: 5 },
    issueWidth: 5,
    asmVectorConstraint: "v",
  },
  caches: { l1Bytes: 48 * 1024, l2Bytes: 2 * 1024 * 1024, sharedBytes: 0, lineBytes: 64 },
  toolchain: {
    defaultCompiler: "cc",
    archFlags: ["-march=x86-64-v4"],
    nativeArchFlags: ["-march=native"],
    optionalFlags: ["-mprefer-vector-width=512"],
  },
  vectorWidths: [4, 8, 16],
};

export const X86_AVX2: Target = {
  name: "x86-avx2",
  description: "x86-64 with AVX2 and FMA: 8 fp32 lanes, 16 ymm registers",
  isa: {
    arch: "x86_64",
    lanes: 8,
    vectorBytes: 32,
    registers: 16,
    registerName: "ymm",
    fmaPorts: 2,
    chainLatency: { add: 4, max: 5 },
    issueWidth: 4,
    asmVectorConstraint: "v",
  },
  caches: { l1Bytes: 32 * 1024, l2Bytes: 512 * 1024, sharedBytes: 0, lineBytes: 64 },
  toolchain: {
    defaultCompiler: "cc",
    archFlags: ["-march=x86-64-v3"],
    // On an AVX-512 host the ISA stays AVX2; only the scheduling is tuned for the CPU.
    nativeArchFlags: ["-march=x86-64-v3", "-mtune=native"],
    optionalFlags: [],
  },
  vectorWidths: [4, 8, 16],
};

export const AARCH64_NEON: Target = {
  name: "aarch64-neon",
  description: "AArch64 with NEON: 4 fp32 lanes, 32 q registers",
  isa: {
    arch: "aarch64",
    lanes: 4,
    vectorBytes: 16,
    registers: 32,
    registerName: "q",
    fmaPorts: 2,
    chainLatency: { add: 3, max: 3 },
    issueWidth: 4,
    asmVectorConstraint: "w",
  },
  caches: { l1Bytes: 64 * 1024, l2Bytes: 1024 * 1024, sharedBytes: 0, lineBytes: 64 },
  toolchain: {
    defaultCompiler: "aarch64-linux-gnu-gcc",
    archFlags: ["-march=armv8-a"],
    nativeArchFlags: ["-mcpu=native"],
    optionalFlags: [],
  },
  compilerPackage: "gcc-aarch64-linux-gnu",
  vectorWidths: [4, 8],
};

export const TARGETS: readonly Target[] = [X86_AVX512, X86_AVX2, AARCH64_NEON];

/** The one target COLT built for before targets existed: older profiles and runs are its. */
export const LEGACY_TARGET = X86_AVX512.name;

export const COMMON_FLAGS: readonly string[] = GNU_OPTIONS.common;

/**
 * The one line that builds an exported model library (model.c, main.c) on the machine it
 * will run on: the native target, whatever it is, with the system compiler.
 */
export const NATIVE_LIBRARY_BUILD_LINE = "cc -O3 -march=native -fopenmp model.c main.c -lm -o run";
