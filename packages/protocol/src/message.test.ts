import { describe, expect, it } from "vitest";
import { MAX_MESSAGES_PER_REQUEST, parseMessages } from "./message.js";

describe("parseMessages", () => {
  it("accepts a single message and defaults the priority", () => {
    const r = parseMessages({ to: { user: "alice" }, event: "notification", data: { a: 1 } });
    expect(r).toEqual({
      ok: true,
      messages: [{ to: { user: "alice" }, event: "notification", data: { a: 1 }, priority: "normal" }],
    });
  });

  it("accepts every target shape in a batch", () => {
    const r = parseMessages({
      messages: [
        { to: { users: ["a", "b"] }, event: "e" },
        { to: { channel: "workflow:42" }, event: "e", priority: "critical", id: "k1", ttl: 60 },
        { to: { broadcast: true }, event: "e" },
      ],
    });
    expect(r.ok).toBe(true);
  });

  it("lists every problem of every message with index and field", () => {
    const r = parseMessages({
      messages: [
        { to: { user: "ok" }, event: "fine" },
        { to: { usr: "x" }, event: "has space", priority: "urgent" },
        { to: { user: 5 }, event: "e", extra: 1 },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const fields = r.problems.map((p) => `${p.index}:${p.field}`);
    expect(fields).toEqual(["1:to", "1:event", "1:priority", "2:to.user", "2:extra"]);
    expect(r.problems[0]?.message).toMatch(/must be one of/);
  });

  it("refuses reserved channels and an empty or oversized batch", () => {
    const reserved = parseMessages({ to: { channel: "user:bob" }, event: "e" });
    expect(reserved.ok).toBe(false);
    if (!reserved.ok) expect(reserved.problems[0]?.field).toBe("to.channel");
    expect(parseMessages({ messages: [] }).ok).toBe(false);
    const many = Array.from({ length: MAX_MESSAGES_PER_REQUEST + 1 }, () => ({ to: { broadcast: true }, event: "e" }));
    expect(parseMessages({ messages: many }).ok).toBe(false);
    expect(parseMessages({ messages: "nope" }).ok).toBe(false);
    expect(parseMessages(null).ok).toBe(false);
  });
});
