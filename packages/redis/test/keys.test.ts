import { PRIORITIES, parseId } from "@herald/protocol";
import { describe, expect, it } from "vitest";
import { Keys, keySlot } from "../src/index.js";

describe("Keys", () => {
  it("keeps the standalone layout's names: every key under the {prefix} tag", () => {
    const k = new Keys("herald");
    expect([k.ids("low"), k.pending("high"), k.idempotency("x", "normal")]).toEqual([
      "{herald}:ids",
      "{herald}:pending:high",
      "{herald}:idem:x",
    ]);
    expect([k.presence("alice"), k.topic("news"), k.history("user:alice"), k.unacked("alice")]).toEqual([
      "{herald}:presence:alice",
      "{herald}:topic:news",
      "{herald}:history:user:alice",
      "{herald}:unacked:alice",
    ]);
    expect([k.queue("normal"), k.queuePrefix("critical"), k.published("low"), k.nodeUsers("n1")]).toEqual([
      "{herald}:normal",
      "{herald}",
      "{herald}:published:low",
      "{herald}:node:n1:users",
    ]);
    expect([k.nodeChannel("n1", "bulk"), k.broadcastChannel("urgent")]).toEqual([
      "herald:deliver:bulk:n1",
      "herald:deliver:urgent:*broadcast",
    ]);
    expect(k.idSequence("low")).toEqual({ base: 0, span: 36 ** 4 });
  });

  it("computes slots as Redis does (CRC16 of the hash tag)", () => {
    expect(keySlot("123456789")).toBe(12739);
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("{user1000}.following")).toBe(keySlot("{user1000}.followers"));
    expect(keySlot("foo{}{bar}")).toBe(keySlot("foo{}{bar}"));
    expect(keySlot("{}x")).not.toBe(keySlot("x"));
  });

  it("in the cluster layout, keeps what one script call touches on one slot", () => {
    const k = new Keys("herald", "cluster");
    const user = [k.presence("alice"), k.history("user:alice"), k.unacked("alice")].map(keySlot);
    expect(new Set(user).size).toBe(1);
    expect(keySlot(k.topic("news"))).toBe(keySlot(k.history("news")));
    expect(keySlot(k.history("broadcast"))).toBe(keySlot(k.broadcastChannel("urgent")));
    expect(keySlot(k.nodeUsers("n1"))).toBe(keySlot(k.nodeTopics("n1")));
    // One channel of a node per range of 256 slots, so every master serves some.
    const ranges = k.nodeChannels("n1", "bulk").map((c) => Math.floor(keySlot(c) / 256));
    expect(ranges).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(k.nodeChannels("n1", "urgent").map(keySlot)).toEqual(k.nodeChannelSlots("n1"));
    expect(keySlot(k.nodes)).toBe(keySlot(k.stall));
    for (const p of PRIORITIES) {
      const slot = keySlot(k.queueTag(p));
      for (const key of [k.queue(p), k.published(p), k.pending(p), k.ids(p), k.idempotency("x", p)]) {
        expect(keySlot(key), key).toBe(slot);
      }
    }
  });

  it("puts the queue tags of any prefix in their ranges: a 3-master cluster gets normal, high and low, critical on its three", () => {
    for (const prefix of ["herald", "t1234abcd", "acme-prod"]) {
      const k = new Keys(prefix, "cluster");
      const third = (q: string) => Math.floor(keySlot(k.queueTag(q)) / (16384 / 3));
      expect(["normal", "high", "low", "critical"].map(third), prefix).toEqual([0, 1, 1, 2]);
      const quarter = (q: string) => Math.floor(keySlot(k.queueTag(q)) / 4096);
      expect(["normal", "high", "low", "critical"].map(quarter), prefix).toEqual([0, 1, 2, 3]);
    }
  });

  it("gives each priority its own part of the id sequence in the cluster layout", () => {
    const k = new Keys("herald", "cluster");
    const parts = PRIORITIES.map((p) => k.idSequence(p));
    expect(parts.reduce((n, p) => n + p.span, 0)).toBe(36 ** 4);
    parts.forEach((p, i) => {
      expect(p.base).toBe(i * p.span);
    });
    expect(parseId("0000000000zzz")).toBeDefined();
  });
});
