import { type Delivery, formatId } from "@herald/protocol";
import { RecordingSocket } from "@herald/testkit";
import { describe, expect, it } from "vitest";
import { newConnection } from "./connection.js";
import { HeldDeliveries, MAX_HELD } from "./held-deliveries.js";
import type { Conn } from "./socket/client-socket.js";

const conn = (user: string): Conn => newConnection(user, { userId: user, channels: [], expiresAt: undefined }, 0, 10);
const d = (kind: "user" | "topic", target: string, n: number): Delivery => ({
  kind,
  target,
  priority: "low",
  ts: n,
  frame: `{"type":"message","id":"${formatId(1000 + n, 0)}"}`,
});
const id = (n: number) => formatId(1000 + n, 0);

describe("held deliveries", () => {
  it("holds a connection's user channel and topics until taken, in arrival order", () => {
    const held = new HeldDeliveries();
    const ann = conn("ann");
    const own = held.holdUser(ann);
    const room = held.holdTopic(ann, "room:1");
    expect(held.heldForUser(ann, d("user", "ann", 1))).toBe(true);
    expect(held.holdForTopic("room:1", d("topic", "room:1", 2))).toBe(1);
    expect(held.holdForTopic("room:2", d("topic", "room:2", 3))).toBe(0);
    expect(held.heldForUser(ann, d("user", "ann", 4))).toBe(true);
    expect(held.take(ann, "user:ann", own)?.map((x) => x.ts)).toEqual([1, 4]);
    expect(held.take(ann, "room:1", room)?.map((x) => x.ts)).toEqual([2]);
    expect(held.take(ann, "room:1", room)).toBeUndefined(); // taken once
    held.releaseAll(ann);
    expect(ann.held).toBeUndefined();
    expect(held.heldForUser(ann, d("user", "ann", 5))).toBe(false);
    expect(held.holdForTopic("room:1", d("topic", "room:1", 6))).toBe(0);
  });

  it("after the catch-up, drops late live copies of what it sent for the window, then lets the channel go", async () => {
    const held = new HeldDeliveries(30);
    const ann = conn("ann");
    const ws = new RecordingSocket();
    ann.socket = ws;
    const own = held.holdUser(ann);
    const room = held.holdTopic(ann, "room:1");
    held.take(ann, "user:ann", own);
    held.take(ann, "room:1", room);
    let topicLive = false;
    held.filterLateCopies(ann, "user:ann", own, new Set([id(1)]), () => undefined);
    held.filterLateCopies(ann, "room:1", room, new Set([id(2)]), () => {
      topicLive = true;
    });
    expect(held.heldForUser(ann, d("user", "ann", 1))).toBe(true); // a late copy: dropped
    expect(held.heldForUser(ann, d("user", "ann", 3))).toBe(false); // new: delivered as usual
    expect(held.holdForTopic("room:1", d("topic", "room:1", 2))).toBe(0);
    expect(held.holdForTopic("room:1", d("topic", "room:1", 4))).toBe(1);
    expect(ws.sent).toEqual([d("topic", "room:1", 4).frame]);
    await new Promise((r) => setTimeout(r, 60));
    expect(topicLive).toBe(true);
    expect(ann.held).toBeUndefined();
    expect(held.heldForUser(ann, d("user", "ann", 1))).toBe(false);
  });

  it("lets a later hold of a channel supersede an earlier one: the earlier catch-up takes nothing", () => {
    const held = new HeldDeliveries();
    const ann = conn("ann");
    const first = held.holdTopic(ann, "room:1");
    held.holdForTopic("room:1", d("topic", "room:1", 1));
    const second = held.holdTopic(ann, "room:1");
    held.holdForTopic("room:1", d("topic", "room:1", 2));
    expect(held.take(ann, "room:1", first)).toBeUndefined();
    expect(held.take(ann, "room:1", second)?.map((x) => x.ts)).toEqual([2]);
  });

  it("holds at most MAX_HELD per channel and marks the connection as overflowed past it", () => {
    const held = new HeldDeliveries();
    const bob = conn("bob");
    const own = held.holdUser(bob);
    for (let i = 0; i < MAX_HELD; i++) held.heldForUser(bob, d("user", "bob", i));
    expect(held.overflowedOn(bob)).toBe(false);
    held.heldForUser(bob, d("user", "bob", MAX_HELD));
    expect(held.overflowedOn(bob)).toBe(true);
    expect(held.take(bob, "user:bob", own)).toHaveLength(MAX_HELD);
  });
});
