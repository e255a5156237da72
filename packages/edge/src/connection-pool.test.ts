import { describe, expect, it } from "vitest";
import { type Connection, newConnection, sweepVerdict, takeFrameToken } from "./connection.js";
import { ConnectionPool } from "./connection-pool.js";

const conn = (id: string, userId: string, now = 0): Connection =>
  newConnection(id, { userId, channels: [], expiresAt: undefined }, now, 10);

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
    pool.release(a1);
    expect([...pool.connectionsOf("alice")]).toEqual([a2]);
    expect(pool.admit("carol")).toBe("ok");
  });

  it("gives back the slot of an upgrade that never opened", () => {
    const pool = new ConnectionPool({ maxConnections: 1, maxConnectionsPerUser: 1 });
    expect(pool.admit("alice")).toBe("ok");
    pool.release(conn("a", "alice"));
    expect(pool.size).toBe(0);
    expect(pool.admit("bob")).toBe("ok");
    pool.release(conn("n", "nobody")); // unknown users are ignored, never negative
    expect(pool.size).toBe(1);
  });
});

describe("sweep", () => {
  const limits = { idleMs: 1000, maxBufferedBytes: 100 };
  const open = (lastActivity: number, expiresAt?: number) => {
    const c = newConnection("c", { userId: "u", channels: [], expiresAt }, lastActivity, 10);
    c.state = "open";
    return c;
  };

  it("keeps an active, unexpired connection that reads what it is sent", () => {
    expect(sweepVerdict(open(5000), 5500, 100, limits)).toBeUndefined();
  });

  it("closes an idle one, an expired one and a slow reader, in that order of precedence", () => {
    expect(sweepVerdict(open(0), 5000, 0, limits)).toBe("idle");
    expect(sweepVerdict(open(0, 4000), 5000, 1e6, limits)).toBe("idle");
    expect(sweepVerdict(open(4500, 4000), 5000, 1e6, limits)).toBe("tokenExpired");
    expect(sweepVerdict(open(4500), 5000, 101, limits)).toBe("tryAgain");
  });

  it("leaves a connection that is still opening alone", () => {
    const opening = newConnection("c", { userId: "u", channels: [], expiresAt: undefined }, 0, 10);
    expect(sweepVerdict(opening, 1e9, 1e9, limits)).toBeUndefined();
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
