import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { UrgencyGate } from "./urgency-gate.js";

describe("UrgencyGate", () => {
  it("holds bulk work while urgent jobs are in flight and releases it when the last leaves", async () => {
    const gate = new UrgencyGate();
    await gate.clear(); // nothing urgent: passes at once
    const leaveA = gate.enter();
    const leaveB = gate.enter();
    let released = false;
    const waiting = gate.clear().then(() => {
      released = true;
    });
    leaveA();
    leaveA(); // leaving twice counts once
    await nextTurn(); // a clear that had resolved would have run by now
    expect(released).toBe(false);
    leaveB();
    await waiting;
    expect(released).toBe(true);
    expect(gate.busy).toBe(false);
  });

  it("lets a bounded wait go after its time, and forgets it", async () => {
    const gate = new UrgencyGate();
    const leave = gate.enter();
    const started = performance.now();
    await gate.clear(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(gate.waiting).toBe(0);
    leave();
  });

  it("says urgent work is flowing while a job is in flight and for a window after the last one entered", () => {
    let now = 1000;
    const gate = new UrgencyGate(() => now);
    expect(gate.flowing(50)).toBe(false);
    const leave = gate.enter();
    now += 70;
    expect(gate.flowing(50)).toBe(true); // still in flight, however long ago it entered
    leave();
    expect(gate.flowing(50)).toBe(false); // left, and entered more than 50 ms ago
    gate.enter()();
    expect(gate.flowing(50)).toBe(true); // entered just now
    now += 49;
    expect(gate.flowing(50)).toBe(true);
    now += 21;
    expect(gate.flowing(50)).toBe(false);
  });
});
