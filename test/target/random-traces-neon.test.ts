import { describe } from "vitest";
import { randomTracesVerifyOn } from "./random-traces.ts";

describe("random traces on aarch64-neon, under qemu", () => randomTracesVerifyOn("aarch64-neon"));
