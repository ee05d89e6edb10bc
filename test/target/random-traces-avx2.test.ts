import { describe } from "vitest";
import { randomTracesVerifyOn } from "./random-traces.ts";

describe("random traces on x86-avx2", () => randomTracesVerifyOn("x86-avx2"));
