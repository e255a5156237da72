import { describe, expect, it } from "vitest";
import { carriesPublishes, type Delivery, decodeDeliveries, encodeDeliveries } from "./deliveries.js";

describe("delivery packing", () => {
  it("round-trips deliveries of every kind, frames with tabs escaped by JSON", () => {
    const list: Delivery[] = [
      { kind: "user", target: "alice", priority: "critical", ts: 1, frame: JSON.stringify({ t: "a\tb\nc" }) },
      { kind: "topic", target: "workflow:42", priority: "low", ts: 2, frame: "{}" },
      { kind: "broadcast", target: "", priority: "normal", ts: 3, frame: '{"x":1}' },
    ];
    const out: Delivery[] = [];
    expect(decodeDeliveries(encodeDeliveries(list), (d) => out.push(d))).toBe(0);
    expect(out).toEqual(list);
  });

  it("skips and counts malformed lines without losing the good ones", () => {
    const good = encodeDeliveries([{ kind: "user", target: "a", priority: "high", ts: 9, frame: "{}" }]);
    const out: Delivery[] = [];
    expect(decodeDeliveries(`garbage\n${good}\nz9\t1\tx\t{}`, (d) => out.push(d))).toBe(2);
    expect(out).toHaveLength(1);
  });

  it("tells payloads that publish to topics from those of user deliveries only", () => {
    const d = (kind: Delivery["kind"], target: string): Delivery => ({
      kind,
      target,
      priority: "low",
      ts: 1,
      // A frame whose text holds a newline escape and kind-like letters must not count.
      frame: JSON.stringify({ type: "message", data: "line\nb t\tu" }),
    });
    expect(carriesPublishes(encodeDeliveries([d("user", "a"), d("user", "b")]))).toBe(false);
    expect(carriesPublishes(encodeDeliveries([d("user", "a"), d("topic", "team:7")]))).toBe(true);
    expect(carriesPublishes(encodeDeliveries([d("broadcast", "")]))).toBe(true);
    expect(carriesPublishes(encodeDeliveries([d("topic", "team:7"), d("user", "a")]))).toBe(true);
  });
});
