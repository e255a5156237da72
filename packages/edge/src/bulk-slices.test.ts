import { describe, expect, it } from "vitest";
import { bulkSliceMs, LONG_SLICE_MS, SHORT_SLICE_MS, USER_SLICE_MS } from "./bulk-slices.js";

describe("bulkSliceMs", () => {
  it("is short while urgent deliveries flow, whatever the bulk lane carries", () => {
    expect(bulkSliceMs(10, 10)).toBe(SHORT_SLICE_MS);
    expect(bulkSliceMs(999, Number.POSITIVE_INFINITY)).toBe(SHORT_SLICE_MS);
  });

  it("is long only for a bulk lane that publishes to topics, and in between for user deliveries", () => {
    expect(bulkSliceMs(Number.POSITIVE_INFINITY, 10)).toBe(LONG_SLICE_MS);
    expect(bulkSliceMs(5000, 999)).toBe(LONG_SLICE_MS);
    expect(bulkSliceMs(5000, 1000)).toBe(USER_SLICE_MS);
    expect(bulkSliceMs(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(USER_SLICE_MS);
    expect(SHORT_SLICE_MS).toBeLessThan(USER_SLICE_MS);
    expect(USER_SLICE_MS).toBeLessThan(LONG_SLICE_MS);
  });
});
