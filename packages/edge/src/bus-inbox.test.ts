import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { Inbox } from "./bus-inbox.js";

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("Inbox", () => {
  it("handles payloads in order, in slices that yield to the event loop", async () => {
    const seen: string[] = [];
    const inbox = new Inbox(
      { sliceMs: () => 5, highWaterBytes: 1 << 20, lowWaterBytes: 0 },
      {
        process: (p) => {
          busyFor(2);
          seen.push(p);
        },
        sliceEnd: () => seen.push("|"),
        pause: () => undefined,
        resume: () => undefined,
      },
    );
    for (let i = 0; i < 20; i++) inbox.push(String(i));
    expect(seen).toEqual([]); // nothing inline: the caller's read callback returns at once
    await nextTurn();
    // One slice: about 5 ms of 2 ms payloads, its end told, then a yield (an I/O turn would run here).
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.length).toBeLessThan(20);
    expect(seen.at(-1)).toBe("|");
    while (seen.filter((p) => p !== "|").length < 20) await nextTurn();
    expect(seen.filter((p) => p !== "|")).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(seen.at(-1)).toBe("|"); // every slice ends with sliceEnd, the last one too
    const slices = seen.filter((p) => p === "|").length;
    expect(slices).toBeGreaterThan(1);
    expect(slices).toBeLessThan(20); // several payloads a slice: one flush for all of them
    expect(inbox.queuedBytes).toBe(0);
  });

  it("pauses its source past the high-water mark and resumes at the low one", async () => {
    const events: string[] = [];
    const inbox = new Inbox(
      { sliceMs: () => 1000, highWaterBytes: 25, lowWaterBytes: 10 },
      {
        process: () => undefined,
        sliceEnd: () => undefined,
        pause: () => events.push("pause"),
        resume: () => events.push("resume"),
      },
    );
    inbox.push("x".repeat(20));
    expect(events).toEqual([]);
    inbox.push("x".repeat(10)); // 30 > 25
    expect(events).toEqual(["pause"]);
    inbox.push("x"); // still over: paused again (a reconnected source is a new socket)
    expect(events).toEqual(["pause", "pause"]);
    await nextTurn();
    expect(inbox.queuedBytes).toBe(0);
    expect(events).toEqual(["pause", "pause", "resume"]);
  });
});
