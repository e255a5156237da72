import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  dataProblem,
  envelopeProblem,
  MAX_DATA_BYTES,
  MAX_DATA_DEPTH,
  MAX_FANOUT_BYTES,
  MAX_MESSAGES_PER_REQUEST,
  parseMessages,
  targetSchema,
} from "./message.js";

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

describe("data that JSON cannot carry", () => {
  it("refuses data nested deeper than MAX_DATA_DEPTH, a circular structure and a BigInt, without recursing", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep]; // would overflow a recursive walk
    expect(dataProblem(deep)).toMatch(/deeper than 64/);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(dataProblem(circular)).toMatch(/deeper than 64/);
    expect(dataProblem({ total: 10n })).toMatch(/BigInt/);
    let ok: unknown = "leaf";
    for (let i = 1; i < MAX_DATA_DEPTH; i++) ok = { d: ok };
    expect(dataProblem(ok)).toBeUndefined();
    const r = parseMessages({ to: { user: "a" }, event: "e", data: deep });
    expect(r).toMatchObject({ ok: false, problems: [{ field: "data" }] });
  });
});

describe("envelopeProblem", () => {
  const good = { id: "0mwxvcmom0000", to: { user: "ann" }, event: "ok", data: null, priority: "normal", ts: 1 };
  it("accepts an accepted message and names the first problem of anything else", () => {
    expect(envelopeProblem(good)).toBeUndefined();
    expect(envelopeProblem({ ...good, ttl: 60, attempt: 2, key: "k" })).toBeUndefined();
    expect(envelopeProblem(null)).toBe("not an object");
    expect(envelopeProblem({ ...good, to: null })).toMatch(/^to:/);
    expect(envelopeProblem({ ...good, id: "x" })).toMatch(/^id:/);
    expect(envelopeProblem({ ...good, priority: "urgent" })).toMatch(/^priority:/);
    expect(envelopeProblem({ ...good, ts: "yesterday" })).toMatch(/^ts:/);
    expect(envelopeProblem({ ...good, attempt: -1 })).toMatch(/^attempt:/);
  });
});

describe("bounded fan-out", () => {
  it("refuses data over MAX_DATA_BYTES, and data × users over MAX_FANOUT_BYTES, and lets a topic carry it", () => {
    const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
    const data = { pad: "x".repeat(20_000) }; // 20 KB × 1,000 users: 20 MB
    expect(parseMessages({ to: { users }, event: "e", data })).toMatchObject({
      ok: false,
      problems: [{ field: "to.users", message: expect.stringMatching(/send to a topic/) }],
    });
    expect(parseMessages({ to: { users: users.slice(0, 100) }, event: "e", data }).ok).toBe(true);
    expect(parseMessages({ to: { channel: "room:1" }, event: "e", data }).ok).toBe(true);
    const huge = { pad: "x".repeat(MAX_DATA_BYTES) };
    expect(parseMessages({ to: { user: "a" }, event: "e", data: huge })).toMatchObject({
      ok: false,
      problems: [{ field: "data" }],
    });
    expect(MAX_FANOUT_BYTES).toBeGreaterThan(MAX_DATA_BYTES);
  });
});

describe("the worker's check of a target", () => {
  it("accepts exactly what the producer schema accepts", () => {
    const good = { id: "0mwxvcmom0000", event: "ok", data: null, priority: "normal", ts: 1 };
    const userId = fc.oneof(fc.string({ maxLength: 5 }), fc.constantFrom("ann", "a\tb", "", "x".repeat(257)));
    const target = fc.oneof(
      fc.record({ user: userId }),
      fc.record({ users: fc.array(userId, { maxLength: 3 }) }),
      fc.record({ channel: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("room:1", "user:x", "broadcast")) }),
      fc.record({ broadcast: fc.oneof(fc.constant(true), fc.anything()) }),
      fc.record({ user: userId, channel: fc.string() }),
      fc.anything(),
    );
    fc.assert(
      fc.property(target, (to) => {
        const schema = targetSchema.safeParse(to).success;
        expect(envelopeProblem({ ...good, to }) === undefined).toBe(schema);
      }),
      { numRuns: 2000 },
    );
  });
});
