/**
 * Which target this machine is (`native`), and binding a chosen target to it: whether
 * its binaries run here natively, under an emulator, or not at all, and the cache
 * hierarchy (from sysfs when it runs natively, the target's declared defaults otherwise).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TargetError } from "./errors.ts";
import { TARGETS } from "./targets.ts";
import type { BoundTarget, CacheHierarchy, Execution, Target } from "./target.ts";

/** What the host offers, as far as choosing a target goes. */
export interface HostCpu {
  readonly arch: string;
  /** /proc/cpuinfo flags (x86) or features (aarch64). */
  readonly flags: ReadonlySet<string>;
}

export function readHostCpu(): HostCpu {
  const arch =
    process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : process.arch;
  const info = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const line = /^(?:flags|Features)\s*:(.*)$/m.exec(info);
  return { arch, flags: new Set((line?.[1] ?? "").trim().split(/\s+/)) };
}

/** Whether binaries of the target run on this CPU without an emulator. */
export function runsNatively(t: Target, host: HostCpu): boolean {
  if (t.isa.arch !== host.arch) return false;
  if (t.isa.arch === "aarch64") return true;
  const needs = t.isa.lanes === 16 ? ["avx512f"] : ["avx2", "fma"];
  return needs.every((f) => host.flags.has(f));
}

/** The widest target the host runs natively: the one `native` names. */
export function detectTargetName(host: HostCpu = readHostCpu()): string {
  const fit = TARGETS.filter((t) => runsNatively(t, host)).sort(
    (a, b) => b.isa.lanes - a.isa.lanes,
  );
  if (fit.length === 0)
    throw new TargetError(
      `this ${host.arch} CPU matches no target (x86-64 needs AVX2 and FMA); choose one with --target to cross-compile`,
      "native",
    );
  return fit[0].name;
}

export function findTarget(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (!t)
    throw new TargetError(
      `unknown target '${name}'; one of native, ${TARGETS.map((x) => x.name).join(", ")} (colt targets)`,
      name,
    );
  return t;
}

const EMULATORS: Readonly<Record<string, Execution>> = {
  aarch64: {
    kind: "emulated",
    emulator: ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"],
    emulatorPackage: "qemu-user",
  },
};

const bound = new Map<string, BoundTarget>();

/** The target named (or `native`, the default), bound to this machine. */
export function resolveTarget(name = "native", host?: HostCpu): BoundTarget {
  const known = host === undefined ? bound.get(name) : undefined;
  if (known) return known;
  const cpu = host ?? readHostCpu();
  const target = findTarget(name === "native" ? detectTargetName(cpu) : name);
  const native = runsNatively(target, cpu);
  const execution = native ? { kind: "native" as const } : EMULATORS[target.isa.arch];
  if (!execution)
    throw new TargetError(
      `${target.name} binaries cannot run on this ${cpu.arch} CPU and there is no emulator for them; build with colt export, or run on a ${target.name} machine`,
      target.name,
    );
  if (execution.kind === "emulated" && !installed(execution.emulator[0]))
    throw new TargetError(
      `${target.name} binaries run here only under ${execution.emulator[0]}, which is not installed; install it (Debian: apt-get install ${execution.emulatorPackage})`,
      target.name,
    );
  const isHost = native && detectTargetName(cpu) === target.name;
  const result: BoundTarget = {
    ...target,
    execution,
    detected: isHost,
    // A target that runs natively runs on this CPU: its caches are this CPU's.
    caches: native ? hostCaches(target.caches) : target.caches,
    toolchain: native ? { ...target.toolchain, defaultCompiler: "cc" } : target.toolchain,
  };
  if (host === undefined) bound.set(name, result);
  return result;
}

function installed(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * L1, the largest private level and the largest shared level from sysfs, each falling back
 * to the declared size.
 */
function hostCaches(declared: CacheHierarchy): CacheHierarchy {
  const base = "/sys/devices/system/cpu/cpu0/cache";
  if (!existsSync(base)) return declared;
  let l1 = 0;
  let largest = 0;
  let shared = 0;
  for (const entry of readdirSync(base).filter((e) => e.startsWith("index"))) {
    const read = (f: string) => {
      const file = join(base, entry, f);
      return existsSync(file) ? readFileSync(file, "utf8").trim() : "";
    };
    if (read("type") === "Instruction") continue;
    const m = /^(\d+)([KMG]?)$/.exec(read("size"));
    if (!m) continue;
    const unit: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };
    const bytes = Number(m[1]) * unit[m[2]];
    const cpus = read("shared_cpu_list");
    if (cpus.includes(",") || cpus.includes("-")) {
      shared = Math.max(shared, bytes);
      continue;
    }
    if (read("level") === "1") l1 = bytes;
    largest = Math.max(largest, bytes);
  }
  return {
    l1Bytes: l1 > 0 ? l1 : declared.l1Bytes,
    l2Bytes: largest > 0 ? largest : declared.l2Bytes,
    sharedBytes: shared > 0 ? shared : declared.sharedBytes,
    lineBytes: declared.lineBytes,
  };
}
