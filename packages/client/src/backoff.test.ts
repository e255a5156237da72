import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  const bounds = { initialMs: 100, maxMs: 1000 };

  it("draws from [0, ceiling): 0 with random 0, just under the ceiling with random near 1", () => {
    expect(backoffDelay(0, bounds, () => 0)).toBe(0);
    expect(backoffDelay(0, bounds, () => 0.999999)).toBe(99);
  });

  it("doubles the ceiling with each failed attempt up to maxMs", () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 40].map((attempt) => backoffDelay(attempt, bounds, () => 0.999999) + 1);
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it("never leaves the bounds, whatever the random source gives in [0, 1)", () => {
    for (let attempt = 0; attempt < 64; attempt++) {
      for (const r of [0, 0.1, 0.5, 0.9, 0.999999999]) {
        const d = backoffDelay(attempt, bounds, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(1000, 100 * 2 ** attempt));
      }
    }
  });

  it("defaults to 500 ms first and 30 s at most", () => {
    expect(backoffDelay(0, {}, () => 0.999999)).toBe(499);
    expect(backoffDelay(100, {}, () => 0.999999)).toBe(29_999);
  });
});
