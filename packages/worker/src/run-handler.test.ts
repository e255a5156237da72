import { setImmediate as nextTurn } from "node:timers/promises";
import type { Envelope } from "@herald/protocol";
import { describe, expect, it } from "vitest";
import { backoffMs } from "./backoff.js";
import { HandlerRegistry } from "./handler-registry.js";
import { PublishSequencer } from "./publish-sequencer.js";
import { runHandler } from "./run-handler.js";

const msg: Envelope = { id: "0000000010000", to: { user: "a" }, event: "e", data: { n: 1 }, priority: "normal", ts: 1 };

describe("runHandler", () => {
  it("passes a message through without a handler or when the handler returns undefined", async () => {
    expect(await runHandler(undefined, msg, 100)).toEqual({ ok: true, out: [msg] });
    expect(await runHandler(() => undefined, msg, 100)).toEqual({ ok: true, out: [msg] });
  });

  it("transforms, drops and fans out, keeping id, priority and acceptance time", async () => {
    const t = await runHandler((m) => ({ ...m, data: { n: 2 } }), msg, 100);
    expect(t).toEqual({ ok: true, out: [{ ...msg, data: { n: 2 } }] });
    expect(await runHandler(() => null, msg, 100)).toEqual({ ok: true, out: [] });
    const fan = await runHandler(
      (m) => [
        { ...m, to: { user: "b" } },
        { ...m, to: { channel: "team:1" } },
      ],
      msg,
      100,
    );
    expect(fan.ok && fan.out.map((o) => [o.to, o.id, o.ts])).toEqual([
      [{ user: "b" }, msg.id, msg.ts],
      [{ channel: "team:1" }, msg.id, msg.ts],
    ]);
  });

  it("reports a throw, a rejection, a timeout (aborting the signal) and an invalid target as failures", async () => {
    expect(
      await runHandler(
        () => {
          throw new Error("boom");
        },
        msg,
        100,
      ),
    ).toEqual({ ok: false, error: "boom" });
    expect(await runHandler(async () => Promise.reject(new Error("nope")), msg, 100)).toEqual({
      ok: false,
      error: "nope",
    });
    let aborted = false;
    const slow = await runHandler(
      (_m, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            resolve(undefined);
          });
        }),
      msg,
      20,
    );
    expect(slow).toEqual({ ok: false, error: "handler timed out after 20 ms" });
    expect(aborted).toBe(true);
    const bad = await runHandler((m) => ({ ...m, to: { user: "" } }), msg, 100);
    expect(bad.ok).toBe(false);
  });
});

describe("HandlerRegistry", () => {
  it("resolves by event, falls back to *, and refuses a second handler for one event", () => {
    const a = () => undefined;
    const any = () => null;
    const r = new HandlerRegistry().on("a", a);
    expect(r.resolve("a")).toBe(a);
    expect(r.resolve("b")).toBeUndefined();
    r.on("*", any);
    expect(r.resolve("b")).toBe(any);
    expect(() => r.on("a", a)).toThrow(/already/);
  });
});

describe("backoffMs", () => {
  it("doubles per attempt within [step/2, step], capped", () => {
    expect(backoffMs(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });
});

describe("PublishSequencer", () => {
  it("publishes in ticket order whatever order the jobs finish in, and skipped tickets do not block", async () => {
    const s = new PublishSequencer();
    const order: number[] = [];
    const t1 = s.ticket();
    const t2 = s.ticket();
    const t3 = s.ticket();
    const t4 = s.ticket();
    const p4 = t4.run(async () => order.push(4));
    const p3 = t3.run(async () => order.push(3));
    t2.skip();
    await nextTurn(); // a run that had not waited would have pushed by now
    expect(order).toEqual([]); // all wait for ticket 1
    await t1.run(async () => order.push(1));
    await Promise.all([p3, p4]);
    expect(order).toEqual([1, 3, 4]);
  });

  it("releases the next ticket even when a publish throws", async () => {
    const s = new PublishSequencer();
    const t1 = s.ticket();
    const t2 = s.ticket();
    await expect(t1.run(async () => Promise.reject(new Error("x")))).rejects.toThrow("x");
    await expect(t2.run(async () => "ok")).resolves.toBe("ok");
  });
});
