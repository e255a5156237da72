import { describe, expect, it } from "vitest";
import { BulkPacer, type PacerClock } from "./bulk-pacer.js";

/** A clock that only moves when the pacer waits on it: the tests do not depend on the machine's speed. */
function virtualClock(): PacerClock & { t: number } {
  const clock = {
    t: 1000,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

const noRests = () => undefined;

describe("BulkPacer", () => {
  it("makes the next bulk job wait in proportion to the time bulk jobs ran", async () => {
    const clock = virtualClock();
    const rests: number[] = [];
    const pacer = new BulkPacer(0.5, (ms) => rests.push(ms), clock); // rest as long as the job ran
    pacer.ran(20);
    pacer.ran(10); // a second job in flight: rests add up
    expect(pacer.owed).toBe(30);
    await pacer.turn();
    expect(clock.t).toBe(1030);
    expect(pacer.owed).toBe(0);
    expect(rests).toEqual([30]);
    await pacer.turn(); // nothing owed: no rest, none reported
    expect(rests).toEqual([30]);
  });

  it("counts time that passed as rest already taken", () => {
    const clock = virtualClock();
    const pacer = new BulkPacer(0.5, noRests, clock);
    pacer.ran(20);
    clock.t += 15;
    expect(pacer.owed).toBe(5);
  });

  it("rests a third as long at share 0.75, and never at share 1", () => {
    const clock = virtualClock();
    const pacer = new BulkPacer(0.75, noRests, clock);
    pacer.ran(30);
    expect(pacer.owed).toBeCloseTo(10, 9);
    const never = new BulkPacer(1, noRests, clock);
    never.ran(1000);
    expect(never.owed).toBe(0);
  });

  it("owes at most 100 ms, however long the jobs ran", () => {
    const pacer = new BulkPacer(0.1, noRests, virtualClock());
    pacer.ran(5_000);
    pacer.ran(5_000);
    expect(pacer.owed).toBe(100);
  });

  it("refuses a share outside (0, 1]", () => {
    expect(() => new BulkPacer(0, noRests)).toThrow(RangeError);
    expect(() => new BulkPacer(1.5, noRests)).toThrow(RangeError);
    expect(() => new BulkPacer(Number.NaN, noRests)).toThrow(RangeError);
  });
});
