import { describe, expect, it } from "vitest";
import { pinYoungGeneration } from "./young-generation.js";

describe("pinYoungGeneration", () => {
  // That it pins is checked on a real edge (test/lifecycle.test.ts): the flag is process-wide.
  it("leaves the young generation to an operator who sized it", () => {
    for (const flag of ["--max-semi-space-size=64", "--min-semi-space-size=16", "--semi-space-growth-factor=2"]) {
      expect(pinYoungGeneration(`--enable-source-maps ${flag}`)).toBe(false);
    }
  });
});
