import { closeRedis, connectRedis } from "@herald/redis";
import { waitFor } from "@herald/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gateway, ON_CLUSTER } from "./support/gateway.js";

let g: Gateway;
beforeAll(async () => {
  g = await Gateway.start({ workers: 0, env: { HERALD_CANARY_SECONDS: "1" } });
});
afterAll(() => g?.stop());

const readyz = async () => (await fetch(`http://127.0.0.1:${g.port}/readyz`)).status;

describe("the pub/sub canary", () => {
  it("flies on both lanes while deliveries reach the edge", async () => {
    const edge = g.edges[0]!;
    await waitFor(
      async () =>
        (await g.metric(edge, "herald_canary_round_trip_seconds", { lane: "urgent" })) > 0 &&
        (await g.metric(edge, "herald_canary_round_trip_seconds", { lane: "bulk" })) > 0,
      "a canary back on each lane",
    );
    expect(await readyz()).toBe(200);
  });

  // It empties one Redis by hand, as a restart would: on a cluster that is every master's job.
  it.skipIf(ON_CLUSTER)(
    "turns the edge unready when its deliveries stop arriving, though every connection is up",
    async () => {
      // What a Redis that restarted empty (or failed over to a replica without them) leaves: no presence.
      const admin = connectRedis(g.redis.url, { name: "test-admin" });
      try {
        await admin.flushall();
      } finally {
        await closeRedis(admin);
      }
      await waitFor(async () => (await readyz()) === 503, "readyz 503 once canaries stop coming back", 20_000);
      expect((await fetch(`http://127.0.0.1:${g.port}/healthz`)).status).toBe(200);
      await waitFor(
        async () => (await g.metric(g.edges[0]!, "herald_canary_lost_total")) > 0,
        "lost canaries counted",
        20_000,
      );
    },
    40_000,
  );
});
