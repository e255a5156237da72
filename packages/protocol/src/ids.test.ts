import { describe, expect, it } from "vitest";
import { formatId, ID_LENGTH, idRange, MAX_SEQ_PER_MS, parseId } from "./ids.js";

describe("message ids", () => {
  it("are fixed width, and string order is (ms, seq) order", () => {
    const ids = [
      formatId(1, 0),
      formatId(1, 1),
      formatId(1, MAX_SEQ_PER_MS),
      formatId(2, 0),
      formatId(1_764_170_000_000, 5),
    ];
    for (const id of ids) expect(id).toHaveLength(ID_LENGTH);
    expect([...ids].sort()).toEqual(ids);
  });

  it("round-trip through parseId", () => {
    expect(parseId(formatId(1_764_170_000_123, 42))).toEqual({ ms: 1_764_170_000_123, seq: 42 });
    expect(parseId("not-an-id")).toBeUndefined();
    expect(parseId("0000000000000x")).toBeUndefined();
  });

  it("ranges roll the sequence into the next millisecond, staying ordered", () => {
    const ids = idRange(1000, MAX_SEQ_PER_MS - 1, 4);
    expect(ids.map(parseId)).toEqual([
      { ms: 1000, seq: MAX_SEQ_PER_MS - 1 },
      { ms: 1000, seq: MAX_SEQ_PER_MS },
      { ms: 1001, seq: 0 },
      { ms: 1001, seq: 1 },
    ]);
    expect([...ids].sort()).toEqual(ids);
  });
});
