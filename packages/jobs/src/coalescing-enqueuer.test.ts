import type { Message } from "@herald/protocol";
import { describe, expect, it } from "vitest";
import { CoalescingEnqueuer } from "./coalescing-enqueuer.js";
import type { EnqueueResult } from "./enqueuer.js";

const msg = (event: string): Message => ({ to: { user: "u" }, event, priority: "normal" }) as Message;

/** An enqueue whose calls settle when the test says, recording what each call carried. */
class ControlledEnqueue {
  calls: { events: string[]; settle: (r: EnqueueResult | Error) => void }[] = [];
  private next = 0;
  /** Whether a call succeeds: by default every one, with ids in call order. */
  fits: (events: string[]) => boolean = () => true;

  enqueue = (messages: readonly Message[]): Promise<EnqueueResult> =>
    new Promise((resolve, reject) => {
      const events = messages.map((m) => m.event);
      this.calls.push({
        events,
        settle: (r) => (r instanceof Error ? reject(r) : resolve(r)),
      });
    });

  /** Settles the oldest unsettled call as `fits` says. */
  answer(err?: Error): void {
    const call = this.calls[this.next++];
    if (!call) throw new Error("no call to answer");
    if (err) {
      call.settle(err);
      return;
    }
    call.settle(
      this.fits(call.events)
        ? { ok: true, ids: call.events.map((e) => `id-${e}`) }
        : { ok: false, reason: "full", priority: "normal", pending: 10 },
    );
  }
}

const turn = () => new Promise((r) => setImmediate(r));

describe("CoalescingEnqueuer", () => {
  it("sends a lone call at once, and the calls made meanwhile together, each answered with its own ids", async () => {
    const inner = new ControlledEnqueue();
    const c = new CoalescingEnqueuer(inner);
    const first = c.enqueue([msg("a")], 1000);
    const second = c.enqueue([msg("b"), msg("c")], 1000);
    const third = c.enqueue([msg("d")], 1000);
    expect(inner.calls.map((x) => x.events)).toEqual([["a"]]);
    inner.answer();
    await turn();
    expect(inner.calls.map((x) => x.events)).toEqual([["a"], ["b", "c", "d"]]);
    inner.answer();
    expect(await first).toEqual({ ok: true, ids: ["id-a"] });
    expect(await second).toEqual({ ok: true, ids: ["id-b", "id-c"] });
    expect(await third).toEqual({ ok: true, ids: ["id-d"] });
  });

  it("caps a combined call, and keeps call order across combined calls", async () => {
    const inner = new ControlledEnqueue();
    const c = new CoalescingEnqueuer(inner, Date.now, 3);
    const all = [c.enqueue([msg("a")], 1000), c.enqueue([msg("b"), msg("c")], 1000)];
    all.push(c.enqueue([msg("d")], 1000), c.enqueue([msg("e"), msg("f"), msg("g"), msg("h")], 1000));
    inner.answer();
    await turn();
    inner.answer();
    await turn();
    inner.answer();
    await Promise.all(all);
    // One call larger than the cap still goes, alone.
    expect(inner.calls.map((x) => x.events)).toEqual([["a"], ["b", "c", "d"], ["e", "f", "g", "h"]]);
  });

  it("tries each call alone when a queue is too full for them together, so those that fit are taken", async () => {
    const inner = new ControlledEnqueue();
    inner.fits = (events) => events.length < 3;
    const c = new CoalescingEnqueuer(inner);
    const first = c.enqueue([msg("a")], 1000);
    const big = c.enqueue([msg("b"), msg("c"), msg("d")], 1000);
    const small = c.enqueue([msg("e")], 1000);
    inner.answer();
    await turn();
    inner.answer(); // b, c, d, e together: full
    await turn();
    inner.answer(); // b, c, d alone: full
    await turn();
    inner.answer(); // e alone: fits
    expect(await first).toMatchObject({ ok: true });
    expect(await big).toMatchObject({ ok: false, reason: "full" });
    expect(await small).toEqual({ ok: true, ids: ["id-e"] });
  });

  it("fails every call of a combined call that failed, and goes on with the next", async () => {
    const inner = new ControlledEnqueue();
    const c = new CoalescingEnqueuer(inner);
    const first = c.enqueue([msg("a")], 1000);
    const second = c.enqueue([msg("b")], 1000);
    const third = c.enqueue([msg("c")], 1000);
    inner.answer(new Error("redis down"));
    await expect(first).rejects.toThrow("redis down");
    await turn();
    inner.answer(new Error("still down"));
    await expect(second).rejects.toThrow("still down");
    await expect(third).rejects.toThrow("still down");
    const later = c.enqueue([msg("d")], 1000);
    inner.answer();
    expect(await later).toEqual({ ok: true, ids: ["id-d"] });
  });

  it("refuses, unsent, a call that could not be sent well before its deadline", async () => {
    const inner = new ControlledEnqueue();
    let now = 0;
    const c = new CoalescingEnqueuer(inner, () => now);
    const first = c.enqueue([msg("a")], 5000);
    const late = c.enqueue([msg("b")], 1000);
    const patient = c.enqueue([msg("c")], 5000);
    now = 600; // b has 400 ms left: its caller's own timer may answer before an enqueue returns
    inner.answer();
    await first;
    await expect(late).rejects.toMatchObject({ code: "unavailable" });
    await turn();
    expect(inner.calls.map((x) => x.events)).toEqual([["a"], ["c"]]);
    inner.answer();
    expect(await patient).toEqual({ ok: true, ids: ["id-c"] });
    expect(c.backlog).toBe(0);
  });

  it("combines only calls of one and the same priority, in arrival order", async () => {
    const inner = new ControlledEnqueue();
    const c = new CoalescingEnqueuer(inner);
    const at = (event: string, priority: Message["priority"]) => ({ ...msg(event), priority }) as Message;
    const all = [
      c.enqueue([at("a", "low")], 5000),
      c.enqueue([at("b", "low")], 5000),
      c.enqueue([at("c", "low")], 5000),
      c.enqueue([at("d", "critical")], 5000),
      c.enqueue([at("e", "critical"), at("f", "low")], 5000),
      c.enqueue([at("g", "critical")], 5000),
    ];
    for (let i = 0; i < 5; i++) {
      inner.answer();
      await turn();
    }
    await Promise.all(all);
    expect(inner.calls.map((x) => x.events)).toEqual([["a"], ["b", "c"], ["d"], ["e", "f"], ["g"]]);
  });

  it("refuses a call at once while too many messages wait", async () => {
    const inner = new ControlledEnqueue();
    const c = new CoalescingEnqueuer(inner);
    const many = (n: number) => Array.from({ length: n }, (_, i) => msg(`m${i}`));
    const sending = c.enqueue(many(1), 5000);
    const waiting = Array.from({ length: 10 }, () => c.enqueue(many(1000), 5000));
    await expect(c.enqueue(many(1), 5000)).rejects.toMatchObject({ code: "unavailable" });
    for (let i = 0; i < 11; i++) {
      inner.answer();
      await turn();
    }
    await Promise.all([sending, ...waiting]);
  });
});
