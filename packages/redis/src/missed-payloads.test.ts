import { describe, expect, it } from "vitest";
import { MissedPayloads } from "./missed-payloads.js";

/** A stand-in for take-missed-1.lua: each channel's kept list, taken whole; `failures` takes fail first. */
function fakeRedis(kept: Record<string, string[]>, failures = 0) {
  let left = failures;
  return {
    calls: 0,
    async takeMissed(channel: string): Promise<string[]> {
      this.calls++;
      if (left-- > 0) throw new Error("Stream isn't writeable");
      const list = kept[channel] ?? [];
      kept[channel] = [];
      return list;
    },
  };
}

const channels = () => ["c1", "c2"];

describe("MissedPayloads", () => {
  it("lets live payloads through when no catch-up runs", () => {
    const missed = new MissedPayloads(fakeRedis({}), channels, async () => undefined);
    expect(missed.holds("bulk", "live")).toBe(false);
  });

  it("hands over what was kept, channel by channel, before what arrived live meanwhile, then a late kept one", async () => {
    const kept: Record<string, string[]> = { c1: ["k1", "k2"], c2: ["k3"] };
    const out: string[] = [];
    const missed = new MissedPayloads(fakeRedis(kept), channels, async (ms) => {
      if (ms === 1000) kept.c1?.push("k4"); // kept while the subscription was being confirmed
    });
    let confirm: () => void = () => undefined;
    const confirmed = () => new Promise<void>((resolve) => (confirm = resolve));
    const done = missed.catchUp("bulk", confirmed, (p) => out.push(p));
    expect(missed.holds("bulk", "live1")).toBe(true);
    expect(missed.holds("urgent", "other lane")).toBe(false);
    confirm();
    expect(await done).toBe(4);
    expect(out).toEqual(["k1", "k2", "k3", "live1", "k4"]);
    expect(missed.holds("bulk", "live2")).toBe(false);
  });

  it("takes once more when the lane resubscribes during its catch-up", async () => {
    const kept: Record<string, string[]> = { c1: ["k1"], c2: [] };
    const out: string[] = [];
    const missed = new MissedPayloads(fakeRedis(kept), channels, async () => undefined);
    let confirms = 0;
    const confirmed = async () => {
      confirms++;
      if (confirms === 1) {
        // a second master's subscriber came back while the first catch-up waits
        expect(await missed.catchUp("bulk", confirmed, (p) => out.push(p))).toBe(0);
        kept.c2?.push("k2");
      }
    };
    expect(await missed.catchUp("bulk", confirmed, (p) => out.push(p))).toBe(2);
    expect(confirms).toBe(2);
    expect(out).toEqual(["k1", "k2"]);
  });

  it("lets what waited go on when Redis does not answer in time, and hands the kept over once it does", async () => {
    const kept: Record<string, string[]> = { c1: ["k1"], c2: [] };
    const redis = fakeRedis(kept, 25); // more failed takes than the hold allows
    const out: string[] = [];
    const missed = new MissedPayloads(redis, channels, async () => undefined);
    const done = missed.catchUp(
      "bulk",
      async () => undefined,
      (p) => out.push(p),
    );
    missed.holds("bulk", "live1");
    expect(await done).toBe(1);
    expect(out).toEqual(["live1", "k1"]); // late rather than never
  });

  it("reports undefined when Redis never answers while the kept payloads last", async () => {
    const missed = new MissedPayloads(fakeRedis({}, 1_000_000), channels, async () => undefined);
    expect(
      await missed.catchUp(
        "urgent",
        async () => undefined,
        () => undefined,
      ),
    ).toBeUndefined();
  });

  it("forgets at start what was kept for an earlier process, trying until Redis answers", async () => {
    const kept: Record<string, string[]> = { c1: ["old"], c2: ["older"] };
    const redis = fakeRedis(kept, 3);
    await new MissedPayloads(redis, channels, async () => undefined).forget("bulk");
    expect(kept).toEqual({ c1: [], c2: [] });
  });
});
