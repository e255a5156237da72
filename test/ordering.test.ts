import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, msg } from "./support/gateway.js";

/** Per-channel order with several worker processes: each producer's messages keep their acceptance order. */
let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({ edges: 1, workers: 3 });
});
afterAll(() => g?.stop());

const PRODUCERS = 4;
const REQUESTS = 150;

describe("order across workers", () => {
  it("four producers sending request after request to one topic through three workers: no inversion, no loss, no duplicate", async () => {
    const topic = "orders:all";
    const reader = await g.connect("reader", { channels: ["orders:*"] });
    reader.send({ type: "subscribe", channel: topic });
    await reader.next((f) => f.type === "subscribed", "subscribed");

    const sent: string[][] = await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, p) => {
        const ids: string[] = [];
        for (let i = 0; i < REQUESTS; i++) {
          const res = await g.post(msg({ channel: topic }, "step", { data: { p, i } }));
          expect(res.status).toBe(202);
          ids.push(res.json.ids[0]);
        }
        return ids;
      }),
    );
    const total = PRODUCERS * REQUESTS;
    await waitFor(() => reader.messages().length >= total, `${total} messages`, 30_000);
    const arrived = reader.messages();
    expect(arrived).toHaveLength(total);
    for (let p = 0; p < PRODUCERS; p++) {
      const mine = arrived.filter((f) => (f.data as { p: number }).p === p);
      expect(mine.map((f) => (f.data as { i: number }).i)).toEqual(Array.from({ length: REQUESTS }, (_, i) => i));
      expect(mine.map((f) => f.id)).toEqual(sent[p]);
    }
    // The three workers all took part (else this would prove nothing about order across them).
    const perWorker = await Promise.all(g.workers.map((w) => g.metric(w, "herald_worker_messages_total")));
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    reader.close();
  });
});
