import type { Delivery } from "@herald/protocol";
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
  frame: String(n),
});

describe("held deliveries", () => {
  it("holds a connection's user channel and topics until released, in arrival order, then lets go", () => {
    const held = new HeldDeliveries();
    const ann = conn("ann");
    held.holdUser(ann);
    held.holdTopic(ann, "room:1");
    expect(held.heldForUser(ann, d("user", "ann", 1))).toBe(true);
    expect(held.holdForTopic("room:1", d("topic", "room:1", 2))).toBe(1);
    expect(held.holdForTopic("room:2", d("topic", "room:2", 3))).toBe(0);
    expect(held.heldForUser(ann, d("user", "ann", 4))).toBe(true);
    expect(held.release(ann, "user:ann").map((x) => x.ts)).toEqual([1, 4]);
    expect(held.heldForUser(ann, d("user", "ann", 5))).toBe(false);
    expect(held.release(ann, "room:1").map((x) => x.ts)).toEqual([2]);
    expect(ann.held).toBeUndefined();
    expect(held.holdForTopic("room:1", d("topic", "room:1", 6))).toBe(0);
  });

  it("holds at most MAX_HELD per channel and marks the connection as overflowed past it", () => {
    const held = new HeldDeliveries();
    const bob = conn("bob");
    held.holdUser(bob);
    for (let i = 0; i < MAX_HELD; i++) held.heldForUser(bob, d("user", "bob", i));
    expect(held.overflowedOn(bob)).toBe(false);
    held.heldForUser(bob, d("user", "bob", MAX_HELD));
    expect(held.overflowedOn(bob)).toBe(true);
    expect(held.release(bob, "user:bob")).toHaveLength(MAX_HELD);
  });
});
