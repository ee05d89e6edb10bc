/**
 * A Target: everything COLT assumes about the machine a kernel is built for and run on.
 * Codegen, legality, the cost model, the offline recipes, the peak micro-benchmark, the
 * LLM prompt and the database key take these facts from here, never from constants of
 * their own.
 */

export interface Isa {
  /** Architecture as the kernel of a machine reports it (`uname -m`). */
  readonly arch: "x86_64" | "aarch64";
  /** fp32 lanes of one vector register. */
  readonly lanes: number;
  /** Bytes of one vector register (the alignment vector loads like). */
  readonly vectorBytes: number;
  /** Architectural vector registers. */
  readonly registers: number;
  /** How the assembler names one full vector register, e.g. `ymm`. */
  readonly registerName: string;
  /** Vector FMA issue ports: peak = ports x lanes x 2 x frequency. */
  readonly fmaPorts: number;
  /** Cycles of one step of an add / max accumulation chain. */
  readonly chainLatency: { readonly add: number; readonly max: number };
  /** Instructions the core issues per cycle. */
  readonly issueWidth: number;
  /** GNU inline-asm constraint of a vector register (`v` on x86, `w` on AArch64). */
  readonly asmVectorConstraint: string;
}

export interface CacheHierarchy {
  /** Private L1 data cache per core, bytes. */
  readonly l1Bytes: number;
  /** Private L2 per core, bytes (the largest private level). */
  readonly l2Bytes: number;
  /** The largest cache several cores share (the last level), bytes; 0 when not known. */
  readonly sharedBytes: number;
  readonly lineBytes: number;
}

export interface Toolchain {
  /** Compiler command when $CC is not set: the system `cc`, or a cross compiler. */
  readonly defaultCompiler: string;
  /** Flags choosing the instruction set when building for another machine. */
  readonly archFlags: readonly string[];
  /** Flags for the machine COLT runs on, when it is this target (tune for its exact CPU). */
  readonly nativeArchFlags: readonly string[];
  /** Added when the compiler accepts them (clang splits 64-byte vectors without one). */
  readonly optionalFlags: readonly string[];
}

/** How a binary built for the target runs here: natively, or under an emulator. */
export type Execution =
  | { readonly kind: "native" }
  | {
      readonly kind: "emulated";
      /** The emulator command and its arguments, before the binary. */
      readonly emulator: readonly string[];
      /** Debian package that provides it, for the error that says how to install it. */
      readonly emulatorPackage: string;
    };

export interface Target {
  readonly name: string;
  readonly description: string;
  readonly isa: Isa;
  /** Declared defaults; a target that runs natively takes this CPU's from sysfs (`detect.ts`). */
  readonly caches: CacheHierarchy;
  readonly toolchain: Toolchain;
  /** Debian package of the cross compiler, when the target needs one. */
  readonly compilerPackage?: string;
  /** Vector widths (fp32 lanes) the search offers: one and two registers, and half of one. */
  readonly vectorWidths: readonly number[];
}

/** A target bound to this machine: how its binaries run, and whether it is the host's. */
export interface BoundTarget extends Target {
  readonly execution: Execution;
  /** The target `native` names here: caches come from sysfs, flags tune for this CPU. */
  readonly detected: boolean;
}

/** Emulated times measure the emulator, not the target: they are never tuned on. */
export const isEmulated = (t: BoundTarget): boolean => t.execution.kind === "emulated";

/** Words run before a binary of the target: its emulator, or none. */
export const runPrefix = (t: BoundTarget): readonly string[] =>
  t.execution.kind === "emulated" ? t.execution.emulator : [];
