import { describe, expect, it } from "vitest";
import { RecentIds } from "./recent-ids.js";

describe("RecentIds", () => {
  it("recognises a repeat within the window", () => {
    const ids = new RecentIds(3);
    expect(ids.add("a")).toBe(true);
    expect(ids.add("a")).toBe(false);
    expect(ids.has("a")).toBe(true);
  });

  it("keeps the last `max` ids only, forgetting the oldest first", () => {
    const ids = new RecentIds(3);
    for (const id of ["a", "b", "c", "d"]) ids.add(id);
    expect(["a", "b", "c", "d"].map((id) => ids.has(id))).toEqual([false, true, true, true]);
    expect(ids.add("a")).toBe(true);
    expect(ids.has("b")).toBe(false);
  });

  it("forgets a deleted id", () => {
    const ids = new RecentIds(3);
    ids.add("a");
    ids.delete("a");
    expect(ids.add("a")).toBe(true);
  });
});
