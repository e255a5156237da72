import { describe, expect, it } from "vitest";
import { BulkPacer } from "./bulk-pacer.js";

describe("BulkPacer", () => {
  it("makes the next bulk job wait in proportion to the time bulk jobs ran", async () => {
    const rests: number[] = [];
    const pacer = new BulkPacer(0.5, (ms) => rests.push(ms)); // rest as long as the job ran
    pacer.ran(20);
    pacer.ran(10); // a second job in flight: rests add up
    expect(pacer.owed).toBeGreaterThan(25);
    expect(pacer.owed).toBeLessThanOrEqual(30);
    const started = performance.now();
    await pacer.turn();
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(pacer.owed).toBe(0);
    expect(rests).toHaveLength(1);
    await pacer.turn(); // nothing owed: no rest, none reported
    expect(rests).toHaveLength(1);
  });

  it("rests a third as long at share 0.75, and never at share 1", () => {
    const pacer = new BulkPacer(0.75);
    pacer.ran(30);
    expect(pacer.owed).toBeGreaterThan(8);
    expect(pacer.owed).toBeLessThanOrEqual(10);
    const never = new BulkPacer(1);
    never.ran(1000);
    expect(never.owed).toBe(0);
  });

  it("owes at most 100 ms, however long the jobs ran", () => {
    const pacer = new BulkPacer(0.1);
    pacer.ran(5_000);
    pacer.ran(5_000);
    expect(pacer.owed).toBeLessThanOrEqual(100);
    expect(pacer.owed).toBeGreaterThan(90);
  });

  it("refuses a share outside (0, 1]", () => {
    expect(() => new BulkPacer(0)).toThrow(RangeError);
    expect(() => new BulkPacer(1.5)).toThrow(RangeError);
    expect(() => new BulkPacer(Number.NaN)).toThrow(RangeError);
  });
});
