import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { idleTimeoutSeconds, pingDue, pingPhase } from "./ping-schedule.js";

describe("ping schedule", () => {
  const interval = 25_000;

  it("pings each connection once per interval, at its phase, whatever the tick length", () => {
    const phase = 7_300;
    const pings = (tickMs: number, fromMs: number, toMs: number) => {
      let n = 0;
      for (let t = fromMs; t < toMs; t += tickMs) if (pingDue(phase, t, t + tickMs, interval)) n++;
      return n;
    };
    expect(pings(1000, 0, 100_000)).toBe(4);
    expect(pings(3700, 0, 100_000)).toBe(4); // late ticks: nothing missed, nothing doubled
    expect(pingDue(phase, 7_299, 7_300, interval)).toBe(true);
    expect(pingDue(phase, 7_300, 8_300, interval)).toBe(false);
    expect(pingDue(phase, 0, 60_000, interval)).toBe(true); // a very late tick pings once
  });

  it("spreads connections opened together over the whole interval", () => {
    const perSecond = new Array(25).fill(0);
    for (let i = 0; i < 10_000; i++) perSecond[Math.floor(pingPhase(randomUUID(), interval) / 1000)]++;
    // 400 a second on average; uniform ids keep every second well inside 300-500.
    expect(Math.min(...perSecond)).toBeGreaterThan(300);
    expect(Math.max(...perSecond)).toBeLessThan(500);
  });

  it("falls back to phase 0 for an id that is not hex, and leaves uWS a margin past the interval", () => {
    expect(pingPhase("not-hex!", interval)).toBe(0);
    expect(idleTimeoutSeconds(25)).toBeGreaterThanOrEqual(25 + 6);
  });
});
