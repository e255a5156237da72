import { describe, expect, it } from "vitest";
import { CLOSE_CODES, ERROR_CODES, shouldReconnect } from "./codes.js";
import { HERALD_ERRORS } from "./errors.js";
import { frameMessageId, messageFrameEncoder, parseClientFrame } from "./frames.js";

describe("client frames", () => {
  it("parses the four client frame types", () => {
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ ok: true, frame: { type: "ping" } });
    expect(parseClientFrame('{"type":"subscribe","channel":"a","since":"x"}').ok).toBe(true);
    expect(parseClientFrame('{"type":"unsubscribe","channel":"a"}').ok).toBe(true);
    expect(parseClientFrame('{"type":"ack","id":"x"}').ok).toBe(true);
  });

  it("explains what is wrong with a bad frame", () => {
    expect(parseClientFrame("{not json")).toEqual({ ok: false, message: "not valid JSON" });
    const unknown = parseClientFrame('{"type":"dance"}');
    expect(unknown.ok).toBe(false);
    const missing = parseClientFrame('{"type":"subscribe"}');
    expect(missing.ok === false && missing.message).toMatch(/channel/);
  });
});

describe("server frames", () => {
  it("reads a message frame's id without parsing it, and nothing from other text", () => {
    const frame = messageFrameEncoder({ id: "00abc0000001", event: "e", priority: "low", data: { id: "x" }, ts: 5 })(
      "t",
    );
    expect(frameMessageId(frame)).toBe("00abc0000001");
    expect(frameMessageId('{"type":"pong"}')).toBeUndefined();
    expect(frameMessageId('{"type":"message","id":')).toBeUndefined();
  });

  it("encodes a message frame with the contract's fields, data null when absent", () => {
    const f = JSON.parse(
      messageFrameEncoder({ id: "i", event: "e", priority: "low", data: undefined, ts: 5 })("user:a"),
    );
    expect(f).toEqual({ type: "message", id: "i", channel: "user:a", event: "e", priority: "low", data: null, ts: 5 });
  });

  it("writes byte for byte what JSON.stringify writes for the frame object, for every channel", () => {
    const m = {
      id: 'q"1\\',
      event: "é\u2028\n",
      priority: "high" as const,
      data: { nested: [1, "two", { three: null }], emoji: "🙂", lone: "\ud800" },
      ts: 1_700_000_000_123,
    };
    const frameFor = messageFrameEncoder(m);
    for (const channel of ["user:a", 'odd"channel', "*"]) {
      const expected = JSON.stringify({
        type: "message",
        id: m.id,
        channel,
        event: m.event,
        priority: m.priority,
        data: m.data,
        ts: m.ts,
      });
      expect(frameFor(channel)).toBe(expected);
    }
  });

  it("writes null for data JSON cannot express, so the frame stays valid JSON", () => {
    const f = messageFrameEncoder({ id: "i", event: "e", priority: "low", data: () => 1, ts: 5 })("c");
    expect(JSON.parse(f).data).toBeNull();
  });
});

describe("code registries", () => {
  it("documents every error code, close code and internal error", () => {
    for (const text of Object.values(ERROR_CODES)) expect(text.length).toBeGreaterThan(10);
    for (const text of Object.values(HERALD_ERRORS)) expect(text.length).toBeGreaterThan(10);
    const codes = Object.values(CLOSE_CODES).map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("tells clients to reconnect on drain, not on a too-big frame", () => {
    expect(shouldReconnect(1012)).toBe(true);
    expect(shouldReconnect(1009)).toBe(false);
    expect(shouldReconnect(1006)).toBe(true);
  });
});
