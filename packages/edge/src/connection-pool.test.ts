import { describe, expect, it } from "vitest";
import { type Connection, newConnection, takeFrameToken } from "./connection.js";
import { ConnectionPool } from "./connection-pool.js";

const conn = (id: string, userId: string, now = 0): Connection => newConnection(id, { userId, channels: [] }, now, 10);

describe("ConnectionPool", () => {
  it("groups a user's connections and enforces per-node and per-user limits", () => {
    const pool = new ConnectionPool({ maxConnections: 3, maxConnectionsPerUser: 2 });
    expect(pool.admit("alice")).toBe("ok");
    expect(pool.admit("alice")).toBe("ok");
    expect(pool.admit("alice")).toBe("user_full");
    expect(pool.admit("bob")).toBe("ok");
    expect(pool.admit("carol")).toBe("node_full");
    const a1 = conn("a1", "alice");
    const a2 = conn("a2", "alice");
    pool.add(a1);
    pool.add(a2);
    expect([...pool.connectionsOf("alice")]).toEqual([a1, a2]);
    expect(pool.size).toBe(3);
    pool.release("alice", a1);
    expect([...pool.connectionsOf("alice")]).toEqual([a2]);
    expect(pool.admit("carol")).toBe("ok");
  });

  it("gives back the slot of an upgrade that never opened", () => {
    const pool = new ConnectionPool({ maxConnections: 1, maxConnectionsPerUser: 1 });
    expect(pool.admit("alice")).toBe("ok");
    pool.release("alice");
    expect(pool.size).toBe(0);
    expect(pool.admit("bob")).toBe("ok");
    pool.release("nobody"); // unknown users are ignored, never negative
    expect(pool.size).toBe(1);
  });

  it("finds open connections idle since a cutoff", () => {
    const pool = new ConnectionPool({ maxConnections: 10, maxConnectionsPerUser: 10 });
    const old = conn("old", "u", 0);
    const fresh = conn("fresh", "u", 5000);
    const opening = conn("opening", "u", 0);
    old.state = "open";
    fresh.state = "open";
    for (const c of [old, fresh, opening]) {
      pool.admit("u");
      pool.add(c);
    }
    expect([...pool.idleSince(1000)]).toEqual([old]);
  });
});

describe("frame rate", () => {
  it("warns once when the bucket empties and closes after a second burst on credit", () => {
    const c = conn("c", "u");
    const verdicts = Array.from({ length: 25 }, () => takeFrameToken(c, 0, 5, 10));
    expect(verdicts.slice(0, 10).every((v) => v === "ok")).toBe(true);
    expect(verdicts[10]).toBe("warn");
    expect(verdicts.slice(11, 20).every((v) => v === "ok")).toBe(true);
    expect(verdicts[20]).toBe("close");
  });

  it("refills over time", () => {
    const c = conn("c", "u");
    for (let i = 0; i < 10; i++) takeFrameToken(c, 0, 5, 10);
    expect(takeFrameToken(c, 1000, 5, 10)).toBe("ok"); // 5 tokens back after a second
  });
});
